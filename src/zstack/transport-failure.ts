/**
 * What a call that got no complete answer failed of: the kinds, and the classification of undici's
 * errors (and of our own stops) into them. Internal to src/zstack.
 */
// Why an attempt was stopped by us (as opposed to failing on its own).
export const STOP_NONE = 0;
export const STOP_TIMEOUT = 1;
export const STOP_DEADLINE = 2;
export const STOP_ABORT = 3;
export type StopReason = typeof STOP_NONE | typeof STOP_TIMEOUT | typeof STOP_DEADLINE | typeof STOP_ABORT;

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

/** The failure of an attempt that threw `err`, given why we stopped it (if we did). */
export function classify(err: unknown, stop: StopReason): TransportFailure {
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
