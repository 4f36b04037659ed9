/**
 * The HTTP layer of the client: one undici Pool for ZStack's origin, and the per-attempt timeout,
 * deadline and abort. Failure kinds are in transport-failure.ts, the public call types in call-types.ts.
 */
import { EventEmitter } from 'node:events';
import { type Dispatcher, Pool } from 'undici';
import type {
  AnswerAllowance,
  CallerSignal,
  CallOptions,
  Exchange,
  UpstreamCallEvent,
  UpstreamTracer,
} from './call-types.js';
import { getRetryBackoffMs, Sleeper } from './sleeper.js';
import {
  classify,
  KIND_ABORT,
  KIND_BROKEN,
  KIND_NOT_SENT,
  KIND_TOO_LARGE,
  STOP_ABORT,
  STOP_DEADLINE,
  STOP_NONE,
  STOP_TIMEOUT,
  type StopReason,
  TransportFailure,
} from './transport-failure.js';

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
  /**
   * Hand undici an AbortController's signal per attempt instead of the Attempt itself
   * (ABORT_SIGNALS=abort-controller, the bench's side-by-side row; bench/README.md).
   */
  abortControllers?: boolean;
}

/**
 * One HTTP attempt, cancelled on timeout, deadline or the caller's abort. It is itself the `signal`
 * undici gets, through undici's documented `signal: EventEmitter` contract (an 'abort' event aborts
 * the request): an AbortController costs about 25 µs per call here (its AbortSignal is an EventTarget,
 * and undici adds and removes an abort listener on it per request; measured with --cpu-prof on the
 * bench's mutation), an EventEmitter next to nothing. It is the caller's signal's listener itself
 * (handleEvent), so no closure is made per call.
 */
class Attempt extends EventEmitter {
  stop: StopReason = STOP_NONE;
  private readonly callerSignal: CallerSignal | undefined;
  constructor(
    /** Date.now() at which the timeout or the deadline ends it (checked by the transport's ticker). */
    readonly expiresAt: number,
    private readonly timerStop: StopReason,
    callerSignal: CallerSignal | undefined,
    /** The A/B row's library signal: aborted with the attempt, and what undici gets instead. */
    readonly controller?: AbortController,
  ) {
    super();
    this.callerSignal = callerSignal;
    callerSignal?.addEventListener('abort', this);
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
  private abort(kind: StopReason): void {
    if (this.stop !== STOP_NONE) return;
    this.stop = kind;
    if (this.controller !== undefined) this.controller.abort();
    else this.emit('abort');
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
 * by chunk when there is none. Not async: with a Content-Length it hands back undici's own text()
 * promise (no promise of ours around it), and a refusal on that length is thrown at once (its one
 * caller, Transport.call, awaits it inside the same try).
 */
function readBody(
  body: ResponseBody,
  length: string | string[] | undefined,
  max: number,
  allowance: AnswerAllowance | undefined,
): Promise<string> {
  if (max === Number.POSITIVE_INFINITY && allowance === undefined) return body.text();
  if (typeof length === 'string' && DECIMAL.test(length)) {
    const size = Number(length);
    if (size > max) throw tooLarge(body, max);
    if (allowance !== undefined && !allowance.take(size)) throw tooLarge(body, allowance.limitBytes, true);
    return body.text();
  }
  return readChunks(body, max, allowance);
}

const DECIMAL = /^\d+$/;

/** readBody without a Content-Length: counted chunk by chunk. */
async function readChunks(
  body: ResponseBody,
  max: number,
  allowance: AnswerAllowance | undefined,
): Promise<string> {
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

/**
 * A call's request headers as undici's flat list (`name, value, name, value...`, names in lower case):
 * undici reads it as is, where an object costs it an Object.keys array and a lookup per name.
 */
export type HeaderList = readonly string[];

const NO_HEADERS: HeaderList = Object.freeze([]);

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
  private readonly abortControllers: boolean;
  /** The last session's `authorization` value and GET headers: most calls in a row share a session. */
  private lastSession: string | undefined;
  private lastAuthorization = '';
  private lastGetHeaders: HeaderList = NO_HEADERS;

  constructor(config: TransportConfig) {
    const url = new URL(config.baseUrl);
    this.prefix = `${url.pathname.replace(/\/+$/, '')}/v1`;
    this.timeoutMs = config.timeoutMs;
    this.getRetries = config.getRetries ?? 2;
    this.maxResponseBytes = config.maxResponseBytes ?? Number.POSITIVE_INFINITY;
    this.onCall = config.onCall;
    this.tracer = config.tracer;
    this.abortControllers = config.abortControllers === true;
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

  /** `OAuth <session>`, the `authorization` header value (the last session's is kept, not rebuilt). */
  authorization(session: string): string {
    if (session !== this.lastSession) {
      this.lastSession = session;
      this.lastAuthorization = `OAuth ${session}`;
      this.lastGetHeaders = Object.freeze(['authorization', this.lastAuthorization]);
    }
    return this.lastAuthorization;
  }

  /**
   * One HTTP call, sent once; the body is always read to the end. `route` (routeOf of the path, e.g.
   * `/v1/tickets/{uuid}`) names it in the call event and the span. Throws TransportFailure when no
   * complete answer came.
   */
  async call(
    method: string,
    target: string,
    route: string,
    headers: HeaderList,
    body: string | undefined,
    opts: CallOptions | undefined,
  ): Promise<Exchange> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new TransportFailure(KIND_ABORT, 'cancelled by the caller');
    let ms = this.timeoutMs;
    let timerStop: StopReason = STOP_TIMEOUT;
    const deadline =
      this.cutoff < (opts?.deadline ?? Number.POSITIVE_INFINITY) ? this.cutoff : opts?.deadline;
    const now = Date.now();
    if (deadline !== undefined) {
      const left = deadline - now;
      if (left <= 0) throw new TransportFailure(KIND_NOT_SENT, 'the operation deadline passed');
      if (left < ms) {
        ms = left;
        timerStop = STOP_DEADLINE;
      }
    }
    const traced = this.tracer?.startCall(method, route, opts?.trace ?? opts?.tag);
    const sent = traced === undefined ? headers : [...headers, 'traceparent', traced.traceparent];
    const attempt = new Attempt(
      now + ms,
      timerStop,
      signal,
      this.abortControllers ? new AbortController() : undefined,
    );
    this.live.add(attempt);
    this.ticker ??= setInterval(expireAttempts, EXPIRY_TICK_MS, this);
    const started = this.onCall === undefined ? 0 : performance.now();
    let status: number | 'error' = 'error';
    try {
      const res = await this.pool.request({
        method,
        path: target,
        // undici's type asks for a mutable list; it only reads it.
        headers: sent as string[],
        body,
        signal: attempt.controller?.signal ?? attempt,
      });
      const length = res.headers['content-length'];
      // Inside the try: readBody may also throw at once (a refusal on the Content-Length).
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
        this.onCall({ method, route, status, durationMs: performance.now() - started, tag: opts?.tag });
      }
    }
  }

  /**
   * A GET, retried with backoff when the connection failed or broke (a GET changes nothing), never
   * after a timeout (it already used the budget), nor past the deadline or the caller's abort.
   */
  async get(target: string, route: string, opts: CallOptions | undefined): Promise<Exchange> {
    const session = opts?.session;
    let headers = NO_HEADERS;
    if (session !== undefined) {
      this.authorization(session);
      headers = this.lastGetHeaders;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call('GET', target, route, headers, undefined, opts);
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
