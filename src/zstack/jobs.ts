/**
 * Waiting for ZStack's async jobs: when to poll `GET /v1/api-jobs/{uuid}` (a pure schedule, learned
 * per route), webhook wake-ups, and the job timeout / caller deadline that end a wait as pending.
 */

import type { CallerSignal, CallOptions, UpstreamTracer } from './call-types.js';
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackJobExpiredError,
  ZStackJobPendingError,
} from './errors.js';
import {
  isPredictionAhead,
  type JobSample,
  MAX_ROUTES,
  nextEstimateMs,
  nextPollDelayMs,
} from './job-schedule.js';
import { type JobState, jobStateOf, unavailableError } from './responses.js';
import { Sleeper } from './sleeper.js';
import type { Transport } from './transport.js';
import { KIND_ABORT, KIND_DEADLINE, TransportFailure } from './transport-failure.js';

export interface JobEvent {
  jobUuid: string;
  route: string;
  polls: number;
  waitMs: number;
  outcome: 'succeeded' | 'failed' | 'pending' | 'expired' | 'aborted' | 'unavailable';
  /** The wait's CallOptions.tag. */
  tag: unknown;
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

/** The route of every job poll (routeOf of `/api-jobs/<uuid>`), made once. */
const JOB_ROUTE = '/v1/api-jobs/{uuid}';

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
    return jobStateOf(await this.transport.get(this.jobTarget(jobUuid), JOB_ROUTE, opts), jobUuid);
  }

  private jobTarget(jobUuid: string): string {
    return this.transport.url(`/api-jobs/${encodeURIComponent(jobUuid)}`, undefined);
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
    // Every poll of this wait asks the same target: made once (what poll() does, without its own promise).
    const target = this.jobTarget(jobUuid);
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
          state = jobStateOf(await this.transport.get(target, JOB_ROUTE, pollOpts), jobUuid);
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
