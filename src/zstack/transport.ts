import { type Dispatcher, Pool } from 'undici';

/** One HTTP call to ZStack, as the call events report it. */
export interface UpstreamCallEvent {
  method: string;
  /** Path template below the context path, e.g. `/v1/tickets/{uuid}/actions`: no uuids, no host. */
  route: string;
  status: number | 'error';
  durationMs: number;
  /** The call's CallOptions.tag. */
  tag: unknown;
}

/**
 * What the client needs of a caller's abort signal: an AbortSignal has it, and so has the cheaper
 * signal the JSON POST entry makes per request (src/http/close-signal.ts).
 */
export interface CallerSignal {
  readonly aborted: boolean;
  addEventListener(
    type: 'abort',
    listener: EventListenerObject | (() => void),
    options?: { once?: boolean },
  ): void;
  removeEventListener(type: 'abort', listener: EventListenerObject | (() => void)): void;
}

/** An operation's allowance of answer bytes, shared by all its calls (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION). */
export interface AnswerAllowance {
  readonly limitBytes: number;
  /** Counts `bytes` more read; false (nothing counted) when they would pass the limit. */
  take(bytes: number): boolean;
}

export interface CallOptions {
  /** Sent as `Authorization: OAuth <session>`. */
  session?: string;
  /** The caller went away: abort the in-flight call / stop polling (ZStackAbortedError). */
  signal?: CallerSignal;
  /** For async calls: sent as X-Job-UUID (32 hex); without it the client sends none. */
  jobUuid?: string;
  /** Absolute ms timestamp (Date.now() based); no call or poll outlives it. */
  deadline?: number;
  /** Opaque to the client: handed back in the call's events (the HTTP layer's request, for logs). */
  tag?: unknown;
  /** Opaque to the client: the tracer's parent for this call (a job wait's); `tag` when unset. */
  trace?: unknown;
  /** Every answer's bytes are taken from it before they are read; past it the answer is refused unread. */
  answerBytes?: AnswerAllowance;
}

/**
 * Tracing of upstream calls and job waits, supplied from outside src/zstack: the client only hands
 * back opaque parents and sends the header value it is given, so it needs no tracing library.
 */
export interface UpstreamTracer {
  /** A call is about to be sent under `parent`: the W3C `traceparent` to send, and how to end its span. */
  startCall(method: string, route: string, parent: unknown): TracedCall | undefined;
  /** A job wait starts under `parent`: the parent its polls are sent under, and how to end its span. */
  startJob(route: string, parent: unknown): TracedJob | undefined;
}

export interface TracedCall {
  traceparent: string;
  end(status: number | 'error'): void;
}

export interface TracedJob {
  parent: unknown;
  end(outcome: string, polls: number): void;
}

export interface TransportConfig {
  /** Base with context path, e.g. http://zstack:8080/zstack (no trailing slash). */
  baseUrl: string;
  /** One upstream HTTP call, headers and body included. */
  timeoutMs: number;
  /** undici Pool size (default 128). */
  connections?: number;
  /** Retries of GETs on connection failure (default 2, backoff 50/150 ms). */
  getRetries?: number;
  /** Largest answer body read; a larger one is discarded unread (KIND_TOO_LARGE). Default: no limit. */
  maxResponseBytes?: number;
  onCall?: (e: UpstreamCallEvent) => void;
  tracer?: UpstreamTracer;
}

/** A complete answer: the status and the whole body, read to the end. */
export interface Exchange {
  status: number;
  text: string;
}

// Why an attempt was stopped by us (as opposed to failing on its own).
const STOP_NONE = 0;
const STOP_TIMEOUT = 1;
const STOP_DEADLINE = 2;
const STOP_ABORT = 3;

/** The caller's signal fired. */
export const KIND_ABORT = 'abort';
/** The call's own timeout passed. */
export const KIND_TIMEOUT = 'timeout';
/** The caller's deadline passed during the call. */
export const KIND_DEADLINE = 'deadline';
/** Nothing reached ZStack (refused, DNS, pool closed, deadline already past). */
export const KIND_NOT_SENT = 'not-sent';
/** The connection broke after it was established: a write may have been applied. */
export const KIND_BROKEN = 'broken';
/** The answer was larger than maxResponseBytes: discarded unread, its connection closed. */
export const KIND_TOO_LARGE = 'too-large';
export type FailureKind =
  | typeof KIND_ABORT
  | typeof KIND_TIMEOUT
  | typeof KIND_DEADLINE
  | typeof KIND_NOT_SENT
  | typeof KIND_BROKEN
  | typeof KIND_TOO_LARGE;

/**
 * A call that got no complete answer. Internal to src/zstack: responses.ts turns it into a public
 * error with the call's context (whether it was a write, its job uuid).
 */
export class TransportFailure {
  constructor(
    readonly kind: FailureKind,
    readonly reason: string,
    /** For KIND_TOO_LARGE: the bound the answer passed. */
    readonly limitBytes?: number,
    /** For KIND_TOO_LARGE: the bound passed was the operation's (AnswerAllowance), not the call's. */
    readonly perOperation = false,
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
  private readonly callerSignal: CallerSignal | undefined;
  constructor(
    /** Date.now() at which the timeout or the deadline ends it (checked by the transport's ticker). */
    readonly expiresAt: number,
    private readonly timerStop: number,
    callerSignal: CallerSignal | undefined,
  ) {
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
  /** Stops the attempt as if the caller's deadline had passed (the shutdown's cutoff). */
  cutOff(): void {
    this.abort(STOP_DEADLINE);
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
    this.callerSignal?.removeEventListener('abort', this);
  }
}

/**
 * How often the transport looks for calls past their timeout or deadline. One timer for every call
 * in flight instead of a timer set and cleared per call; a call ends at most this late.
 */
export const EXPIRY_TICK_MS = 10;

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

/** A sleep that ends early when the caller's signal fires, or when `wake()` is called. */
export class Sleeper {
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly signal: CallerSignal | undefined) {
    signal?.addEventListener('abort', this);
  }
  handleEvent(): void {
    this.wake();
  }
  /** Ends the current sleep now, if there is one. */
  wake(): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    clearTimeout(this.timer);
    resolve();
  }
  sleep(ms: number): Promise<void> {
    if (this.signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(wakeSleeper, ms, this);
    });
  }
  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function wakeSleeper(s: Sleeper): void {
  s.wake();
}

const BACKOFF_BASE_MS = 50;
const MAX_BACKOFF_MS = 1000;

/** Wait before retry number `attempt + 1` of a GET: 50, 150, 450 ms... up to 1 s. */
export function getRetryBackoffMs(attempt: number): number {
  return Math.min(BACKOFF_BASE_MS * 3 ** attempt, MAX_BACKOFF_MS);
}

const UUID_SEGMENT = /\/[0-9a-fA-F]{32}(?=\/|$)/g;

/** `/tickets/<32 hex>/actions` → `/v1/tickets/{uuid}/actions`. */
export function routeOf(path: string): string {
  return `/v1${path.replace(UUID_SEGMENT, '/{uuid}')}`;
}

type ResponseBody = Dispatcher.ResponseData['body'];

function tooLarge(body: ResponseBody, max: number, perOperation = false): TransportFailure {
  // Destroying an unfinished body aborts the exchange and closes its socket: nothing more is read.
  body.destroy();
  return new TransportFailure(KIND_TOO_LARGE, `answer larger than ${max} bytes`, max, perOperation);
}

/**
 * The whole body as text, or KIND_TOO_LARGE past `max` bytes or past the operation's `allowance`:
 * refused on its Content-Length before reading (undici holds the body to that length), counted chunk
 * by chunk when there is none.
 */
async function readBody(
  body: ResponseBody,
  length: string | string[] | undefined,
  max: number,
  allowance: AnswerAllowance | undefined,
): Promise<string> {
  if (max === Number.POSITIVE_INFINITY && allowance === undefined) return body.text();
  if (typeof length === 'string' && /^\d+$/.test(length)) {
    const size = Number(length);
    if (size > max) throw tooLarge(body, max);
    if (allowance !== undefined && !allowance.take(size)) throw tooLarge(body, allowance.limitBytes, true);
    return body.text();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) throw tooLarge(body, max);
    if (allowance !== undefined && !allowance.take(buf.length))
      throw tooLarge(body, allowance.limitBytes, true);
    chunks.push(buf);
  }
  return UTF8.decode(Buffer.concat(chunks, size));
}

const UTF8 = new TextDecoder();

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The HTTP layer of the client: one undici Pool for ZStack's origin. Every call has one timeout
 * (headers and body), ends at the caller's deadline or abort, and reads its body to the end so the
 * connection is reused. Failures are TransportFailures; it never decides what a status means.
 */
export class Transport {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly getRetries: number;
  private readonly maxResponseBytes: number;
  private readonly onCall: ((e: UpstreamCallEvent) => void) | undefined;
  /** Attempts in flight: checked for expiry every EXPIRY_TICK_MS, stopped at the cutoff (endCallsAt). */
  private readonly live = new Set<Attempt>();
  /** Runs while attempts are in flight: started by a call, stopped at a tick that finds none. */
  private ticker: NodeJS.Timeout | undefined;
  private cutoff = Number.POSITIVE_INFINITY;
  private readonly tracer: UpstreamTracer | undefined;

  constructor(config: TransportConfig) {
    const url = new URL(config.baseUrl);
    this.prefix = `${url.pathname.replace(/\/+$/, '')}/v1`;
    this.timeoutMs = config.timeoutMs;
    this.getRetries = config.getRetries ?? 2;
    this.maxResponseBytes = config.maxResponseBytes ?? Number.POSITIVE_INFINITY;
    this.onCall = config.onCall;
    this.tracer = config.tracer;
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

  /** The request target: context path + `/v1` + `path`, then the query if any. */
  url(path: string, query: URLSearchParams | string | undefined): string {
    if (query === undefined) return this.prefix + path;
    const q = typeof query === 'string' ? (query.startsWith('?') ? query.slice(1) : query) : query.toString();
    return q.length === 0 ? this.prefix + path : `${this.prefix}${path}?${q}`;
  }

  /**
   * One HTTP call, sent once; the body is always read to the end. `routePath` (below /v1, e.g.
   * `/tickets/<uuid>`) names it in the call event as a template. Throws TransportFailure when no
   * complete answer came.
   */
  async call(
    method: string,
    target: string,
    routePath: string,
    headers: Record<string, string>,
    body: string | undefined,
    opts: CallOptions | undefined,
  ): Promise<Exchange> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new TransportFailure(KIND_ABORT, 'cancelled by the caller');
    let ms = this.timeoutMs;
    let timerStop = STOP_TIMEOUT;
    const deadline =
      this.cutoff < (opts?.deadline ?? Number.POSITIVE_INFINITY) ? this.cutoff : opts?.deadline;
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportFailure(KIND_NOT_SENT, 'the operation deadline passed');
      if (left < ms) {
        ms = left;
        timerStop = STOP_DEADLINE;
      }
    }
    const traced = this.tracer?.startCall(method, routeOf(routePath), opts?.trace ?? opts?.tag);
    const sent = traced === undefined ? headers : { ...headers, traceparent: traced.traceparent };
    const attempt = new Attempt(Date.now() + ms, timerStop, signal);
    this.live.add(attempt);
    this.ticker ??= setInterval(expireAttempts, EXPIRY_TICK_MS, this);
    const started = this.onCall === undefined ? 0 : performance.now();
    let status: number | 'error' = 'error';
    try {
      const res = await this.pool.request({ method, path: target, headers: sent, body, signal: attempt });
      const length = res.headers['content-length'];
      const text = await readBody(res.body, length, this.maxResponseBytes, opts?.answerBytes);
      status = res.statusCode;
      return { status, text };
    } catch (err) {
      if (err instanceof TransportFailure) throw err;
      throw classify(err, attempt.stop);
    } finally {
      attempt.finish();
      this.live.delete(attempt);
      traced?.end(status);
      if (this.onCall !== undefined) {
        const route = routeOf(routePath);
        this.onCall({ method, route, status, durationMs: performance.now() - started, tag: opts?.tag });
      }
    }
  }

  /**
   * A GET, retried with backoff when the connection failed or broke (a GET changes nothing), never
   * after a timeout (it already used the budget), nor past the deadline or the caller's abort.
   */
  async get(target: string, routePath: string, opts: CallOptions | undefined): Promise<Exchange> {
    const headers = opts?.session === undefined ? NO_HEADERS : { authorization: `OAuth ${opts.session}` };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call('GET', target, routePath, headers, undefined, opts);
      } catch (err) {
        if (!(err instanceof TransportFailure)) throw err;
        const retriable = err.kind === KIND_NOT_SENT || err.kind === KIND_BROKEN;
        if (retriable && attempt < this.getRetries && (await this.sleepBeforeRetry(attempt, opts))) {
          if (!opts?.signal?.aborted) continue;
          throw new TransportFailure(KIND_ABORT, 'cancelled by the caller');
        }
        throw err;
      }
    }
  }

  private async sleepBeforeRetry(attempt: number, opts: CallOptions | undefined): Promise<boolean> {
    const ms = getRetryBackoffMs(attempt);
    if (opts?.deadline !== undefined && Date.now() + ms >= opts.deadline) return false;
    const sleeper = new Sleeper(opts?.signal);
    try {
      await sleeper.sleep(ms);
    } finally {
      sleeper.dispose();
    }
    return true;
  }

  /**
   * From `time` (Date.now() based) on, every call, in flight or to come, ends as if its caller's
   * deadline had passed (KIND_DEADLINE, or KIND_NOT_SENT when it was not sent yet).
   */
  endCallsAt(time: number): void {
    if (time < this.cutoff) this.cutoff = time;
  }

  /**
   * The ticker's work: ends the attempts past their time, or all of them once the cutoff has come;
   * stops when none is in flight.
   */
  expire(): void {
    if (this.live.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      return;
    }
    const now = Date.now();
    for (const attempt of this.live) {
      if (now >= this.cutoff) attempt.cutOff();
      else if (now >= attempt.expiresAt) attempt.onTimer();
    }
  }

  close(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    return this.pool.close();
  }
}

function expireAttempts(transport: Transport): void {
  transport.expire();
}
