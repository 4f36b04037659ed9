/**
 * When to poll an async job (`GET /v1/api-jobs/{uuid}`): a pure schedule, learned per route from the
 * jobs seen (an estimate of how long its jobs run). No I/O and no clock: inputs in, a delay out.
 */

const MAX_INTERVAL_MS = 1000;
/** Poll interval after the first "running" when nothing is known about the route yet. */
const COLD_STEP_MS = 10;
/** Extra wait after the expected end, so the predicted poll rarely arrives just before it. */
const PREDICT_SLACK_MS = 1;
/**
 * First step after the predicted poll missed: the job is then known to be just about to end, so
 * a short step finds it within a few ms; a fraction of the estimate keeps long jobs cheap.
 */
const MIN_STEP_MS = 2;
const STEP_FRACTION = 0.04;
/**
 * In webhook mode ZStack says when a job ends, so polling after the predicted end is only the
 * fallback for lost callbacks: it starts at this interval instead of a few ms.
 */
const WEBHOOK_FALLBACK_STEP_MS = 100;
const EWMA_WEIGHT = 0.3;
/** When the predicted poll keeps finding the job done, probe slightly earlier next time. */
const DECAY = 0.98;
export const MAX_ROUTES = 1000;

/** Where a job wait stands after a poll answered "running": everything the next delay depends on. */
export interface PollState {
  /** ms since the 202 when that poll's answer came. */
  elapsedMs: number;
  /** How long this route's jobs usually take (ms after the 202); undefined until one was seen. */
  estimateMs: number | undefined;
  /** Backoff steps already taken since the last predicted poll (or since the start). */
  backoffSteps: number;
  /** Webhook mode: ZStack calls back when the job ends, so polling is only the fallback. */
  webhook: boolean;
  /** ms left before the job timeout or the caller's deadline (> 0). */
  remainingMs: number;
}

/** True while the route's expected job end is still ahead: the next poll goes just after it. */
export function isPredictionAhead(elapsedMs: number, estimateMs: number | undefined): boolean {
  return estimateMs !== undefined && estimateMs + PREDICT_SLACK_MS > elapsedMs;
}

function firstStepMs(estimateMs: number | undefined, webhook: boolean): number {
  const step =
    estimateMs === undefined ? COLD_STEP_MS : Math.max(MIN_STEP_MS, Math.round(estimateMs * STEP_FRACTION));
  return webhook ? Math.max(step, WEBHOOK_FALLBACK_STEP_MS) : step;
}

/**
 * The wait before the next poll, after one that answered "running". The first poll of a job goes
 * at once; then the next one lands just after the end this route's jobs usually take; past that,
 * at doubling intervals from a few ms (cold: 10 ms; webhook mode: at least 100 ms) up to 1 s.
 * Never beyond the job timeout or the caller's deadline. Pure: time is an input.
 */
export function nextPollDelayMs(s: PollState): number {
  let delay: number;
  if (isPredictionAhead(s.elapsedMs, s.estimateMs)) {
    delay = (s.estimateMs as number) + PREDICT_SLACK_MS - s.elapsedMs;
  } else {
    const first = firstStepMs(s.estimateMs, s.webhook);
    delay = s.backoffSteps === 0 ? first : Math.min(first * 2 ** s.backoffSteps, MAX_INTERVAL_MS);
  }
  return Math.min(delay, s.remainingMs);
}

/** What one finished wait tells about its route's job duration. */
export interface JobSample {
  /** The route's estimate before this job (ms after the 202). */
  estimateMs: number | undefined;
  /** ms after the 202 of the last poll that saw the job running; undefined if none did. */
  lastRunningMs: number | undefined;
  /** ms after the 202 of the poll that found it done. */
  doneAtMs: number;
  /** The poll made at the predicted end (not woken by a webhook) found the job done. */
  predictedHit: boolean;
}

/**
 * The route's new expected job duration. The job ended between the last "running" poll and the poll
 * that found it done (a webhook wake pins it to that poll); underestimates are corrected at once
 * (they cost polls), overestimates slowly (they cost a few ms), and a hit probes a little earlier.
 */
export function nextEstimateMs(s: JobSample): number {
  if (s.estimateMs !== undefined && s.predictedHit) return s.estimateMs * DECAY;
  const sample = s.lastRunningMs === undefined ? 0 : (s.lastRunningMs + s.doneAtMs) / 2;
  if (s.estimateMs === undefined || sample > s.estimateMs) return sample;
  return s.estimateMs + EWMA_WEIGHT * (sample - s.estimateMs);
}
