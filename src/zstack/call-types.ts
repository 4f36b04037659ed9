/**
 * The upstream client's public call types: what callers outside src/zstack (the HTTP layer, the live
 * feed, the context) pass in and get back. No code, so importing them pulls in no transport.
 */
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

/** A complete answer: the status and the whole body, read to the end. */
export interface Exchange {
  status: number;
  text: string;
}
