/**
 * Waiting for ZStack's async jobs: when to poll `GET /v1/api-jobs/{uuid}` (a pure schedule, learned
 * per route), webhook wake-ups, and the job timeout / caller deadline that end a wait as pending.
 */
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackJobExpiredError,
  ZStackJobPendingError,
} from './errors.js';
import { type JobState, jobStateOf, unavailableError } from './responses.js';
import {
  type CallerSignal,
  type CallOptions,
  KIND_ABORT,
  KIND_DEADLINE,
  Sleeper,
  type Transport,
  TransportFailure,
  type UpstreamTracer,
} from './transport.js';

export interface JobEvent {
  jobUuid: string;
  route: string;
  polls: number;
  waitMs: number;
  outcome: 'succeeded' | 'failed' | 'pending' | 'expired' | 'aborted' | 'unavailable';
  /** The wait's CallOptions.tag. */
  tag: unknown;
}

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
const MAX_ROUTES = 1000;

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

/**
 * One wait on a job: its sleep ends early on the caller's abort or a webhook notification. Webhook
 * callbacks are unauthenticated, so they wake the wait at most once per `wakeIntervalMs`: a flood of
 * them for one job costs at most one extra poll per interval (later ones are folded into one).
 */
class JobWaiter extends Sleeper {
  /** A wake was let through: the next poll goes now. */
  notified = false;
  /** Another waiter on the same job uuid (a replay racing its original). */
  next: JobWaiter | undefined;
  private lastWakeAt = Number.NEGATIVE_INFINITY;
  private deferred: NodeJS.Timeout | undefined;

  constructor(
    signal: CallerSignal | undefined,
    private readonly wakeIntervalMs: number,
  ) {
    super(signal);
  }

  notify(): void {
    const wait = this.lastWakeAt + this.wakeIntervalMs - Date.now();
    if (wait <= 0) {
      this.release();
      return;
    }
    if (this.deferred === undefined) {
      this.deferred = setTimeout(() => {
        this.deferred = undefined;
        this.release();
      }, wait);
      this.deferred.unref();
    }
  }

  private release(): void {
    this.lastWakeAt = Date.now();
    this.notified = true;
    this.wake();
  }

  override dispose(): void {
    clearTimeout(this.deferred);
    super.dispose();
  }
}

const JOB_ROUTE_PATH = '/api-jobs/{uuid}';

/** What job waiting needs of the transport: job polls are GETs. */
export type JobTransport = Pick<Transport, 'url' | 'get'>;

export interface JobWaitsConfig {
  transport: JobTransport;
  /** How long an async call waits for its job. */
  jobTimeoutMs: number;
  /** Webhook mode (ZStack calls back when a job ends): polling after the predicted end is slower. */
  webhook: boolean;
  /** A callback wakes one job's wait at most once per this many ms (default 250). */
  wakeIntervalMs?: number;
  onJob?: (e: JobEvent) => void;
  tracer?: Pick<UpstreamTracer, 'startJob'>;
}

/** Async-job waiting for one client: learned durations per route, and the waits in progress. */
export class JobWaits {
  private readonly transport: JobTransport;
  private readonly jobTimeoutMs: number;
  private readonly webhook: boolean;
  private readonly wakeIntervalMs: number;
  private readonly onJob: ((e: JobEvent) => void) | undefined;
  private readonly tracer: Pick<UpstreamTracer, 'startJob'> | undefined;
  /** Learned job duration (ms after the 202) per route template. */
  private readonly estimates = new Map<string, number>();
  private readonly waiting = new Map<string, JobWaiter>();
  /** From this time on (Date.now() based) every wait ends as pending (see endWaitsAt). */
  private cutoff = Number.POSITIVE_INFINITY;
  private cutoffTimer: NodeJS.Timeout | undefined;

  constructor(config: JobWaitsConfig) {
    this.transport = config.transport;
    this.jobTimeoutMs = config.jobTimeoutMs;
    this.webhook = config.webhook;
    this.wakeIntervalMs = config.wakeIntervalMs ?? 250;
    this.onJob = config.onJob;
    this.tracer = config.tracer;
  }

  /** One poll of a job (GET retried on connection failure); throws TransportFailure or a typed error. */
  async poll(jobUuid: string, opts: CallOptions | undefined): Promise<JobState> {
    const target = this.transport.url(`/api-jobs/${encodeURIComponent(jobUuid)}`, undefined);
    return jobStateOf(await this.transport.get(target, JOB_ROUTE_PATH, opts), jobUuid);
  }

  /**
   * Polls until the job ends (see nextPollDelayMs) and returns its result, or throws: the job's
   * ErrorCode (ZStackApiError), ZStackJobExpiredError on 404, ZStackJobPendingError at the job
   * timeout or the caller's deadline, ZStackAbortedError on abort. A webhook notification wakes
   * the wait early. `learn`: this wait started at the 202, so its timing teaches the route's estimate.
   */
  async wait(
    jobUuid: string,
    route: string,
    opts: CallOptions | undefined,
    learn: boolean,
  ): Promise<unknown> {
    const started = Date.now();
    const callerDeadline = opts?.deadline;
    const jobDeadline = started + this.jobTimeoutMs;
    const stopAt =
      callerDeadline !== undefined && callerDeadline < jobDeadline ? callerDeadline : jobDeadline;
    const estimate = this.estimates.get(route);
    const traced = this.tracer?.startJob(route, opts?.trace ?? opts?.tag);
    // Polls are traced as children of the wait.
    const pollOpts = traced === undefined ? opts : { ...opts, trace: traced.parent };
    const waiter = new JobWaiter(opts?.signal, this.wakeIntervalMs);
    waiter.next = this.waiting.get(jobUuid);
    this.waiting.set(jobUuid, waiter);

    let polls = 0;
    let lastRunning: number | undefined; // ms after `started` of the last poll that saw the job running
    let backoffSteps = 0;
    let predicted = false;
    let nextAt = started;
    let outcome: JobEvent['outcome'] = 'unavailable';
    try {
      for (;;) {
        const wait = nextAt - Date.now();
        if (wait > 0 && !waiter.notified) await waiter.sleep(wait);
        if (opts?.signal?.aborted) {
          outcome = 'aborted';
          throw new ZStackAbortedError(jobUuid);
        }
        // The caller's deadline, or the shutdown's cutoff when that came first.
        const deadline = Math.min(callerDeadline ?? Number.POSITIVE_INFINITY, this.cutoff);
        if (Date.now() >= deadline) {
          outcome = 'pending';
          throw new ZStackJobPendingError(jobUuid);
        }
        const woken = waiter.notified;
        waiter.notified = false;
        const sentAt = Date.now() - started;
        polls++;
        let state: JobState;
        try {
          state = await this.poll(jobUuid, pollOpts);
        } catch (err) {
          if (!(err instanceof TransportFailure)) throw err;
          if (err.kind === KIND_ABORT) {
            outcome = 'aborted';
            throw new ZStackAbortedError(jobUuid);
          }
          // The caller's deadline ended the wait, not a fault: the job is simply still unknown.
          if (err.kind === KIND_DEADLINE || Date.now() >= Math.min(deadline, this.cutoff)) {
            outcome = 'pending';
            throw new ZStackJobPendingError(jobUuid);
          }
          throw unavailableError(err, true, jobUuid);
        }
        if (state.state === 'succeeded') {
          outcome = 'succeeded';
          if (learn) {
            this.learn(route, {
              estimateMs: estimate,
              lastRunningMs: woken ? sentAt : lastRunning,
              doneAtMs: sentAt,
              predictedHit: predicted && !woken,
            });
          }
          return state.result;
        }
        if (state.state === 'failed') {
          outcome = 'failed';
          throw new ZStackApiError(state.error, jobUuid);
        }
        if (state.state === 'expired') {
          outcome = 'expired';
          throw new ZStackJobExpiredError(jobUuid);
        }
        lastRunning = sentAt;
        const now = Date.now();
        const end = Math.min(stopAt, this.cutoff);
        if (now >= end) {
          outcome = 'pending';
          throw new ZStackJobPendingError(jobUuid);
        }
        const elapsedMs = now - started;
        nextAt =
          now +
          nextPollDelayMs({
            elapsedMs,
            estimateMs: estimate,
            backoffSteps,
            webhook: this.webhook,
            remainingMs: end - now,
          });
        // A forged or early webhook wake does not cancel the prediction: it is still ahead.
        predicted = isPredictionAhead(elapsedMs, estimate);
        backoffSteps = predicted ? 0 : backoffSteps + 1;
      }
    } finally {
      waiter.dispose();
      this.unwait(jobUuid, waiter);
      traced?.end(outcome, polls);
      if (this.onJob !== undefined) {
        this.onJob({ jobUuid, route, polls, waitMs: Date.now() - started, outcome, tag: opts?.tag });
      }
    }
  }

  private learn(route: string, sample: JobSample): void {
    // Routes are templates, but an id that is not 32 hex stays in the path: keep the map bounded.
    if (sample.estimateMs === undefined && this.estimates.size >= MAX_ROUTES) this.estimates.clear();
    this.estimates.set(route, nextEstimateMs(sample));
  }

  private unwait(jobUuid: string, waiter: JobWaiter): void {
    const head = this.waiting.get(jobUuid);
    if (head === waiter) {
      if (waiter.next === undefined) this.waiting.delete(jobUuid);
      else this.waiting.set(jobUuid, waiter.next);
      return;
    }
    for (let w = head; w !== undefined; w = w.next) {
      if (w.next === waiter) {
        w.next = waiter.next;
        return;
      }
    }
  }

  /**
   * From `time` (Date.now() based) on, every wait, running or to come, ends as pending
   * (ZStackJobPendingError), as at its caller's deadline: a shutdown's grace period ends so.
   */
  endWaitsAt(time: number): void {
    if (time >= this.cutoff) return;
    this.cutoff = time;
    clearTimeout(this.cutoffTimer);
    this.cutoffTimer = setTimeout(
      () => {
        for (const head of this.waiting.values())
          for (let w: JobWaiter | undefined = head; w; w = w.next) w.wake();
      },
      Math.max(0, time - Date.now()),
    );
    this.cutoffTimer.unref();
  }

  /** Wakes every wait on this job now; the next poll fetches the real outcome from ZStack. */
  notifyJobDone(jobUuid: string): void {
    for (let w = this.waiting.get(jobUuid); w !== undefined; w = w.next) w.notify();
  }
}
