import { Pool } from 'undici';
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackHttpError,
  ZStackJobExpiredError,
  ZStackJobPendingError,
  ZStackUnavailableError,
} from './errors.js';
import type { ApiErrorCode } from './types.js';

export interface UpstreamCallEvent {
  method: string;
  /** Path template below the context path, e.g. `/v1/tickets/{uuid}/actions`: no uuids, no host. */
  route: string;
  status: number | 'error';
  durationMs: number;
  /** The call's CallOptions.tag. */
  tag: unknown;
}

export interface JobEvent {
  jobUuid: string;
  route: string;
  polls: number;
  waitMs: number;
  outcome: 'succeeded' | 'failed' | 'pending' | 'expired' | 'aborted' | 'unavailable';
  /** The wait's CallOptions.tag. */
  tag: unknown;
}

export interface ZStackClientConfig {
  /** Base with context path, e.g. http://zstack:8080/zstack (no trailing slash). */
  baseUrl: string;
  /** One upstream HTTP call, headers and body included. */
  timeoutMs: number;
  /** How long a write waits for its job. */
  jobTimeoutMs: number;
  /** undici Pool size (default 128). */
  connections?: number;
  /**
   * ZStack's webhook mode: sent as `X-Web-Hook` on every async write, so ZStack posts there when
   * the job ends (see notifyJobDone). Undefined = polling only.
   */
  webhookUrl?: string;
  /** Retries of GETs on connection failure (default 2, backoff 50/150 ms). */
  readRetries?: number;
  onCall?: (e: UpstreamCallEvent) => void;
  onJob?: (e: JobEvent) => void;
}

export interface CallOptions {
  /** Sent as `Authorization: OAuth <session>`. */
  session?: string;
  /** The caller went away: abort the in-flight call / stop polling (ZStackAbortedError). */
  signal?: AbortSignal;
  /** For writes: sent as X-Job-UUID (32 hex); without it the client sends none. */
  jobUuid?: string;
  /** Absolute ms timestamp (Date.now() based); no call or poll outlives it. */
  deadline?: number;
  /** Opaque to the client: handed back in the call's events (the HTTP layer's request, for logs). */
  tag?: unknown;
}

export interface ReadRequest {
  /** Below /v1, e.g. '/tickets'. */
  path: string;
  query?: URLSearchParams | string;
}

export interface WriteRequest {
  method: 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: URLSearchParams | string;
  body?: unknown;
}

export type JobState =
  | { state: 'running' }
  | { state: 'succeeded'; result: unknown }
  | { state: 'failed'; error: ApiErrorCode }
  | { state: 'expired' };

export interface ZStackClient {
  /** A sync GET (queries, validate session, timezone): 200 JSON, or a typed error. Retried on connection failure only. */
  read<T>(req: ReadRequest, opts?: CallOptions): Promise<T>;
  /** A sync non-GET (logins PUT, logout DELETE): never retried. */
  sync<T>(req: WriteRequest, opts?: CallOptions): Promise<T>;
  /** An async write: sends once, 200 → result; 202 → poll location until 200/503/404/timeout. Never retried. */
  write<T>(req: WriteRequest, opts?: CallOptions): Promise<T>;
  /** One look at a job (for the apiJob query); no waiting. */
  getJob(jobUuid: string, opts?: CallOptions): Promise<JobState>;
  /** Hint that a job just ended (webhook): poll it now if we are waiting for it. Never trusted as the result. */
  notifyJobDone(jobUuid: string): void;
  close(): Promise<void>;
}

// Why an attempt was stopped by us (as opposed to failing on its own).
const STOP_NONE = 0;
const STOP_TIMEOUT = 1;
const STOP_DEADLINE = 2;
const STOP_ABORT = 3;

const KIND_ABORT = 'abort';
const KIND_TIMEOUT = 'timeout';
const KIND_DEADLINE = 'deadline';
/** Nothing reached ZStack (refused, DNS, pool closed, deadline already past). */
const KIND_NOT_SENT = 'not-sent';
/** The connection broke after it was established: a write may have been applied. */
const KIND_BROKEN = 'broken';
type FailureKind =
  | typeof KIND_ABORT
  | typeof KIND_TIMEOUT
  | typeof KIND_DEADLINE
  | typeof KIND_NOT_SENT
  | typeof KIND_BROKEN;

/** A transport-level failure, before it is turned into a public error with the call's context. */
class TransportFailure {
  constructor(
    readonly kind: FailureKind,
    readonly reason: string,
  ) {}
}

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

const BROKEN_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy-eyeballs connects fail with an AggregateError of per-address errors.
  if (err instanceof AggregateError) return errorCode(err.errors[0]);
  return undefined;
}

/**
 * Cancels one HTTP attempt on timeout, deadline or the caller's abort, without per-call closures.
 * It is its own abort signal: undici takes an object with `aborted`/`reason` and the EventEmitter
 * methods `once`/`removeListener` (it checks for `on`), which costs less per call than an
 * AbortController (an EventTarget, and a DOMException on abort) or a whole EventEmitter.
 */
class Attempt {
  aborted = false;
  reason: Error | undefined;
  stop = STOP_NONE;
  private listeners: (() => void)[] | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly callerSignal: AbortSignal | undefined;
  constructor(
    ms: number,
    private readonly timerStop: number,
    callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(stopAttempt, ms, this);
    this.callerSignal = callerSignal;
    callerSignal?.addEventListener('abort', this);
  }
  on(_event: 'abort', listener: () => void): this {
    this.listeners ??= [];
    this.listeners.push(listener);
    return this;
  }
  once(event: 'abort', listener: () => void): this {
    return this.on(event, listener);
  }
  removeListener(_event: 'abort', listener: () => void): this {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners?.splice(at, 1);
    return this;
  }
  handleEvent(): void {
    this.abort(STOP_ABORT);
  }
  onTimer(): void {
    this.abort(this.timerStop);
  }
  private abort(kind: number): void {
    if (this.stop !== STOP_NONE) return;
    this.stop = kind;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
  finish(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this);
  }
}

function stopAttempt(a: Attempt): void {
  a.onTimer();
}

function classify(err: unknown, stop: number): TransportFailure {
  if (stop === STOP_ABORT) return new TransportFailure(KIND_ABORT, 'cancelled by the caller');
  if (stop === STOP_DEADLINE) return new TransportFailure(KIND_DEADLINE, 'the operation deadline passed');
  if (stop === STOP_TIMEOUT) return new TransportFailure(KIND_TIMEOUT, 'no complete answer in time');
  const code = errorCode(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransportFailure(KIND_TIMEOUT, 'no complete answer in time');
  }
  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return new TransportFailure(KIND_NOT_SENT, `connection failed (${code})`);
  }
  // Any other undici or HTTP-parser failure: the request may have been sent, so a write may have applied.
  if (
    code !== undefined &&
    (BROKEN_CODES.has(code) || code.startsWith('HPE_') || code.startsWith('UND_ERR_'))
  ) {
    return new TransportFailure(KIND_BROKEN, `connection broken (${code})`);
  }
  throw err;
}

interface Exchange {
  status: number;
  text: string;
}

const HTTP_REASONS: Readonly<Record<number, string>> = {
  400: 'bad request',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

/** Fixed ZStack texts we may repeat: only the prefix is used, never anything from the body itself. */
const SAFE_PREFIXES: readonly string[] = [
  'Duplicate job uuid',
  'Invalid header[X-Job-UUID]',
  "missing header 'Authorization'",
  "Authorization type must be 'OAuth'",
  "the body doesn't contain action mapping to the URL",
  'Invalid query parameter',
  'the job has been expired',
  'no api mapping',
  'only GET method is allowed',
];

function safeReason(status: number, text: string): string {
  for (const prefix of SAFE_PREFIXES) if (text.startsWith(prefix)) return prefix;
  return HTTP_REASONS[status] ?? 'unexpected status';
}

const MALFORMED = 'malformed response body';

function parseJson(ex: Exchange, jobUuid: string | undefined): unknown {
  try {
    return JSON.parse(ex.text);
  } catch {
    throw new ZStackHttpError(ex.status, MALFORMED, jobUuid);
  }
}

function apiError(ex: Exchange, jobUuid: string | undefined): ResponseError {
  const body = parseJson(ex, jobUuid) as { error?: unknown } | null;
  const error = body !== null && typeof body === 'object' ? body.error : undefined;
  if (error === null || typeof error !== 'object' || typeof (error as ApiErrorCode).code !== 'string') {
    return new ZStackHttpError(ex.status, MALFORMED, jobUuid);
  }
  return new ZStackApiError(error as ApiErrorCode, jobUuid);
}

type ResponseError = ZStackApiError | ZStackHttpError;

/** The non-success answer of a sync call or a write, as a typed error. */
function responseError(ex: Exchange, jobUuid: string | undefined): ResponseError {
  if (ex.status === 503) return apiError(ex, jobUuid);
  if (ex.status >= 200 && ex.status < 300)
    return new ZStackHttpError(ex.status, 'unexpected status', jobUuid);
  return new ZStackHttpError(ex.status, safeReason(ex.status, ex.text), jobUuid);
}

const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

/** The job uuid from a 202's `location`; the host there is ZStack's own idea and never used. */
function jobUuidFromAccepted(ex: Exchange, sentJobUuid: string | undefined): string {
  const body = parseJson(ex, sentJobUuid) as { location?: unknown } | null;
  const location = body !== null && typeof body === 'object' ? body.location : undefined;
  if (typeof location === 'string') {
    const at = location.lastIndexOf('/api-jobs/');
    if (at >= 0) {
      let id = location.slice(at + '/api-jobs/'.length);
      const end = id.search(/[/?#]/);
      if (end >= 0) id = id.slice(0, end);
      if (JOB_ID.test(id)) return id;
    }
  }
  throw new ZStackHttpError(ex.status, MALFORMED, sentJobUuid);
}

const UUID_SEGMENT = /\/[0-9a-fA-F]{32}(?=\/|$)/g;

/** `/tickets/<32 hex>/actions` → `/v1/tickets/{uuid}/actions`. */
function routeOf(path: string): string {
  return `/v1${path.replace(UUID_SEGMENT, '/{uuid}')}`;
}

const JOB_ROUTE = '/api-jobs/{uuid}';

const BACKOFF_BASE_MS = 50;
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

function stepAfterMiss(estimate: number): number {
  return Math.max(MIN_STEP_MS, Math.round(estimate * STEP_FRACTION));
}

function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_BASE_MS * 3 ** attempt, MAX_INTERVAL_MS);
}

/** Sleeps that end early on the caller's abort or (for job waits) a webhook notification. */
class Waiter {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  notified = false;
  /** Another waiter on the same job uuid (a replay racing its original). */
  next: Waiter | undefined;
  constructor(private readonly signal: AbortSignal | undefined) {
    signal?.addEventListener('abort', this);
  }
  handleEvent(): void {
    this.fire();
  }
  notify(): void {
    this.notified = true;
    this.fire();
  }
  private fire(): void {
    const wake = this.wake;
    if (wake === undefined) return;
    this.wake = undefined;
    clearTimeout(this.timer);
    wake();
  }
  sleep(ms: number): Promise<void> {
    if (this.signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(wakeWaiter, ms, this);
    });
  }
  onTimer(): void {
    this.fire();
  }
  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function wakeWaiter(w: Waiter): void {
  w.onTimer();
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

class UndiciZStackClient implements ZStackClient {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly jobTimeoutMs: number;
  private readonly readRetries: number;
  private readonly onCall: ((e: UpstreamCallEvent) => void) | undefined;
  private readonly onJob: ((e: JobEvent) => void) | undefined;
  private readonly webhookUrl: string | undefined;
  /** Learned job duration (ms after the 202) per write route. */
  private readonly estimates = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter>();

  constructor(config: ZStackClientConfig) {
    const url = new URL(config.baseUrl);
    this.prefix = `${url.pathname.replace(/\/+$/, '')}/v1`;
    this.timeoutMs = config.timeoutMs;
    this.jobTimeoutMs = config.jobTimeoutMs;
    this.readRetries = config.readRetries ?? 2;
    this.onCall = config.onCall;
    this.onJob = config.onJob;
    this.webhookUrl = config.webhookUrl;
    this.pool = new Pool(url.origin, {
      connections: config.connections ?? 128,
      // ZStack answers one request per connection at a time; keep idle ones a little below the
      // usual 20 s server-side keep-alive so a reused socket is rarely one the server just closed.
      pipelining: 1,
      keepAliveTimeout: 10_000,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connectTimeout: Math.min(config.timeoutMs, 10_000),
    });
  }

  /** One HTTP exchange; the body is always read to the end so the connection is reused. */
  private async exchange(
    method: string,
    path: string,
    routePath: string,
    headers: Record<string, string>,
    body: string | undefined,
    opts: CallOptions | undefined,
  ): Promise<Exchange> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new TransportFailure(KIND_ABORT, 'cancelled by the caller');
    let ms = this.timeoutMs;
    let timerStop = STOP_TIMEOUT;
    const deadline = opts?.deadline;
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportFailure(KIND_NOT_SENT, 'the operation deadline passed');
      if (left < ms) {
        ms = left;
        timerStop = STOP_DEADLINE;
      }
    }
    const attempt = new Attempt(ms, timerStop, signal);
    const started = this.onCall === undefined ? 0 : performance.now();
    let status: number | 'error' = 'error';
    try {
      const res = await this.pool.request({ method, path, headers, body, signal: attempt });
      const text = await res.body.text();
      status = res.statusCode;
      return { status, text };
    } catch (err) {
      throw classify(err, attempt.stop);
    } finally {
      attempt.finish();
      if (this.onCall !== undefined) {
        const route = routePath === JOB_ROUTE ? `/v1${JOB_ROUTE}` : routeOf(routePath);
        this.onCall({ method, route, status, durationMs: performance.now() - started, tag: opts?.tag });
      }
    }
  }

  private url(path: string, query: URLSearchParams | string | undefined): string {
    if (query === undefined) return this.prefix + path;
    const q = typeof query === 'string' ? (query.startsWith('?') ? query.slice(1) : query) : query.toString();
    return q.length === 0 ? this.prefix + path : `${this.prefix}${path}?${q}`;
  }

  private unavailable(f: TransportFailure, write: boolean, jobUuid: string | undefined): Error {
    if (f.kind === KIND_ABORT) return new ZStackAbortedError(jobUuid);
    const mayHaveApplied = write && f.kind !== KIND_NOT_SENT;
    return new ZStackUnavailableError(f.reason, { mayHaveApplied, jobUuid });
  }

  private async sleepBackoff(attempt: number, opts: CallOptions | undefined): Promise<boolean> {
    const ms = backoffMs(attempt);
    if (opts?.deadline !== undefined && Date.now() + ms >= opts.deadline) return false;
    const w = new Waiter(opts?.signal);
    try {
      await w.sleep(ms);
    } finally {
      w.dispose();
    }
    return true;
  }

  /** GET with retries on connection failures (never on timeouts: they already used the budget). */
  private async get(path: string, routePath: string, opts: CallOptions | undefined): Promise<Exchange> {
    const headers = opts?.session === undefined ? NO_HEADERS : { authorization: `OAuth ${opts.session}` };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.exchange('GET', path, routePath, headers, undefined, opts);
      } catch (err) {
        if (!(err instanceof TransportFailure)) throw err;
        const retriable = err.kind === KIND_NOT_SENT || err.kind === KIND_BROKEN;
        if (retriable && attempt < this.readRetries && (await this.sleepBackoff(attempt, opts))) {
          if (!opts?.signal?.aborted) continue;
          throw new TransportFailure(KIND_ABORT, 'cancelled by the caller');
        }
        throw err;
      }
    }
  }

  async read<T>(req: ReadRequest, opts?: CallOptions): Promise<T> {
    let ex: Exchange;
    try {
      ex = await this.get(this.url(req.path, req.query), req.path, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? this.unavailable(err, false, undefined) : err;
    }
    if (ex.status === 200) return parseJson(ex, undefined) as T;
    throw responseError(ex, undefined);
  }

  sync<T>(req: WriteRequest, opts?: CallOptions): Promise<T> {
    return this.send<T>(req, opts, false);
  }

  write<T>(req: WriteRequest, opts?: CallOptions): Promise<T> {
    return this.send<T>(req, opts, true);
  }

  private async send<T>(req: WriteRequest, opts: CallOptions | undefined, asyncWrite: boolean): Promise<T> {
    const jobUuid = opts?.jobUuid;
    const headers: Record<string, string> = {};
    if (opts?.session !== undefined) headers.authorization = `OAuth ${opts.session}`;
    if (jobUuid !== undefined) headers['x-job-uuid'] = jobUuid;
    if (asyncWrite && this.webhookUrl !== undefined) headers['x-web-hook'] = this.webhookUrl;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = JSON_CONTENT_TYPE;
    }
    let ex: Exchange;
    try {
      ex = await this.exchange(req.method, this.url(req.path, req.query), req.path, headers, body, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? this.unavailable(err, true, jobUuid) : err;
    }
    if (ex.status === 200) return parseJson(ex, jobUuid) as T;
    if (ex.status === 202) {
      const id = jobUuidFromAccepted(ex, jobUuid);
      return (await this.waitForJob(id, routeOf(req.path), opts, true)) as T;
    }
    // Our own X-Job-UUID already exists: this is a replay; the original job's outcome is the answer.
    if (
      asyncWrite &&
      ex.status === 400 &&
      jobUuid !== undefined &&
      ex.text.startsWith('Duplicate job uuid')
    ) {
      return (await this.waitForJob(jobUuid, routeOf(req.path), opts, false)) as T;
    }
    throw responseError(ex, jobUuid);
  }

  /** One poll of a job, with read retries; resolves the state or throws a typed error. */
  private async pollOnce(jobUuid: string, opts: CallOptions | undefined): Promise<JobState> {
    const ex = await this.get(`${this.prefix}/api-jobs/${encodeURIComponent(jobUuid)}`, JOB_ROUTE, opts);
    switch (ex.status) {
      case 200:
        return { state: 'succeeded', result: parseJson(ex, jobUuid) };
      case 202:
        return RUNNING;
      case 404:
        return EXPIRED;
      case 503: {
        const err = apiError(ex, jobUuid);
        if (err instanceof ZStackApiError) return { state: 'failed', error: err.errorCode };
        throw err;
      }
      default:
        throw new ZStackHttpError(ex.status, safeReason(ex.status, ex.text), jobUuid);
    }
  }

  async getJob(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    try {
      return await this.pollOnce(jobUuid, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? this.unavailable(err, false, jobUuid) : err;
    }
  }

  /**
   * Polls until the job ends. First poll at once (the job may be done), then just after the end
   * this route's jobs usually take, then at short doubling intervals up to 1 s (from 100 ms in
   * webhook mode); stops at the job timeout, the caller's deadline or abort. A webhook
   * notification wakes the wait early.
   */
  private async waitForJob(
    jobUuid: string,
    route: string,
    opts: CallOptions | undefined,
    learn: boolean,
  ): Promise<unknown> {
    const started = Date.now();
    const deadline = opts?.deadline;
    const jobDeadline = started + this.jobTimeoutMs;
    const stopAt = deadline !== undefined && deadline < jobDeadline ? deadline : jobDeadline;
    const estimate = this.estimates.get(route);
    const waiter = new Waiter(opts?.signal);
    waiter.next = this.waiting.get(jobUuid);
    this.waiting.set(jobUuid, waiter);

    let polls = 0;
    let lastRunning = -1; // ms after `started` of the last poll that saw the job running
    let step = 0;
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
        if (deadline !== undefined && Date.now() >= deadline) {
          outcome = 'pending';
          throw new ZStackJobPendingError(jobUuid);
        }
        const woken = waiter.notified;
        waiter.notified = false;
        const sentAt = Date.now() - started;
        polls++;
        let state: JobState;
        try {
          state = await this.pollOnce(jobUuid, opts);
        } catch (err) {
          if (!(err instanceof TransportFailure)) throw err;
          if (err.kind === KIND_ABORT) {
            outcome = 'aborted';
            throw new ZStackAbortedError(jobUuid);
          }
          // The caller's deadline ended the wait, not a fault: the job is simply still unknown.
          if (err.kind === KIND_DEADLINE || (deadline !== undefined && Date.now() >= deadline)) {
            outcome = 'pending';
            throw new ZStackJobPendingError(jobUuid);
          }
          throw this.unavailable(err, true, jobUuid);
        }
        if (state.state === 'succeeded') {
          outcome = 'succeeded';
          if (learn) this.learn(route, estimate, woken ? sentAt : lastRunning, sentAt, predicted && !woken);
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
        if (now >= stopAt) {
          outcome = 'pending';
          throw new ZStackJobPendingError(jobUuid);
        }
        predicted = false;
        // A forged or early webhook wake does not cancel the prediction: it is still ahead.
        if (estimate !== undefined && started + estimate + PREDICT_SLACK_MS > now) {
          nextAt = started + estimate + PREDICT_SLACK_MS;
          predicted = true;
          step = this.firstStep(estimate);
        } else {
          if (step === 0) step = this.firstStep(estimate);
          nextAt = now + step;
          step = Math.min(step * 2, MAX_INTERVAL_MS);
        }
        if (nextAt > stopAt) nextAt = stopAt;
      }
    } finally {
      waiter.dispose();
      this.unwait(jobUuid, waiter);
      if (this.onJob !== undefined) {
        this.onJob({ jobUuid, route, polls, waitMs: Date.now() - started, outcome, tag: opts?.tag });
      }
    }
  }

  private firstStep(estimate: number | undefined): number {
    const step = estimate === undefined ? COLD_STEP_MS : stepAfterMiss(estimate);
    return this.webhookUrl === undefined ? step : Math.max(step, WEBHOOK_FALLBACK_STEP_MS);
  }

  /**
   * Updates the route's expected job duration. The job ended between the last "running" poll and
   * the poll that found it done (a webhook wake pins it to that poll); underestimates are
   * corrected at once (they cost polls), overestimates slowly (they cost a few ms).
   */
  private learn(
    route: string,
    estimate: number | undefined,
    lastRunning: number,
    doneAt: number,
    predictedHit: boolean,
  ): void {
    // Routes are templates, but an id that is not 32 hex stays in the path: keep the map bounded.
    if (estimate === undefined && this.estimates.size >= MAX_ROUTES) this.estimates.clear();
    if (estimate !== undefined && predictedHit) {
      this.estimates.set(route, estimate * DECAY);
      return;
    }
    const sample = lastRunning < 0 ? 0 : (lastRunning + doneAt) / 2;
    if (estimate === undefined || sample > estimate) this.estimates.set(route, sample);
    else this.estimates.set(route, estimate + EWMA_WEIGHT * (sample - estimate));
  }

  private unwait(jobUuid: string, waiter: Waiter): void {
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

  notifyJobDone(jobUuid: string): void {
    for (let w = this.waiting.get(jobUuid); w !== undefined; w = w.next) w.notify();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

const RUNNING: JobState = Object.freeze({ state: 'running' });
const EXPIRED: JobState = Object.freeze({ state: 'expired' });

/** The upstream client: one undici Pool for ZStack's origin; writes are sent at most once. */
export function createZStackClient(config: ZStackClientConfig): ZStackClient {
  return new UndiciZStackClient(config);
}
