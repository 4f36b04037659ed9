/**
 * The one place where ZStack's answers, and calls that got none, become results or typed errors
 * (src/zstack/errors.ts). No error message here ever carries the upstream body, URL or session.
 */

import type { Exchange } from './call-types.js';
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackHttpError,
  ZStackResponseTooLargeError,
  ZStackUnavailableError,
} from './errors.js';
import { KIND_ABORT, KIND_NOT_SENT, KIND_TOO_LARGE, type TransportFailure } from './transport-failure.js';
import type { ApiErrorCode } from './types.js';

/** What one look at an async job found. */
export type JobState =
  | { state: 'running' }
  | { state: 'succeeded'; result: unknown }
  | { state: 'failed'; error: ApiErrorCode }
  | { state: 'expired' };

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

/** The body as JSON; a body that does not parse is ZStackHttpError "malformed response body". */
export function parseJson(ex: Exchange, jobUuid: string | undefined): unknown {
  try {
    return JSON.parse(ex.text);
  } catch {
    throw new ZStackHttpError(ex.status, MALFORMED, jobUuid);
  }
}

type ResponseError = ZStackApiError | ZStackHttpError;

/** A 503's `{"error": ErrorCode}` as ZStackApiError with the whole ErrorCode; anything else is malformed. */
function apiError(ex: Exchange, jobUuid: string | undefined): ResponseError {
  const body = parseJson(ex, jobUuid) as { error?: unknown } | null;
  const error = body !== null && typeof body === 'object' ? body.error : undefined;
  if (error === null || typeof error !== 'object' || typeof (error as ApiErrorCode).code !== 'string') {
    return new ZStackHttpError(ex.status, MALFORMED, jobUuid);
  }
  return new ZStackApiError(error as ApiErrorCode, jobUuid);
}

/** The non-success answer of a sync or async call, as a typed error. */
export function responseError(ex: Exchange, jobUuid: string | undefined): ResponseError {
  if (ex.status === 503) return apiError(ex, jobUuid);
  if (ex.status >= 200 && ex.status < 300)
    return new ZStackHttpError(ex.status, 'unexpected status', jobUuid);
  return new ZStackHttpError(ex.status, safeReason(ex.status, ex.text), jobUuid);
}

/**
 * A call that got no complete answer, as a public error. `write` says whether the call could change
 * anything at ZStack: then only a failure known to have sent nothing says it was not applied.
 */
export function unavailableError(f: TransportFailure, write: boolean, jobUuid: string | undefined): Error {
  if (f.kind === KIND_ABORT) return new ZStackAbortedError(jobUuid);
  // An answer came, so a write reached ZStack: only its outcome is unknown.
  if (f.kind === KIND_TOO_LARGE) {
    const perOperation = f.perOperation;
    return new ZStackResponseTooLargeError(f.limitBytes ?? 0, {
      mayHaveApplied: write,
      jobUuid,
      perOperation,
    });
  }
  const mayHaveApplied = write && f.kind !== KIND_NOT_SENT;
  return new ZStackUnavailableError(f.reason, { mayHaveApplied, jobUuid });
}

/**
 * An error met after a write was sent, as the caller must see it. Once ZStack accepted the write
 * (`accepted`: a 202), every unreadable answer leaves its outcome unknown; before, the write's own
 * answer proves nothing was applied only when it is a 4xx refusal: a 2xx that does not parse and a
 * plain-text 5xx may follow an applied write. Other errors pass unchanged.
 */
export function afterWriteSent(err: unknown, accepted: boolean): unknown {
  if (!(err instanceof ZStackHttpError) || err.mayHaveApplied) return err;
  if (!accepted && err.status >= 400 && err.status < 500) return err;
  return new ZStackHttpError(err.status, err.reason, err.jobUuid, { mayHaveApplied: true });
}

const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

/** The job uuid from a 202's `location`; the host there is ZStack's own idea and never used. */
export function jobUuidFromAccepted(ex: Exchange, sentJobUuid: string | undefined): string {
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

/** ZStack refused our X-Job-UUID as already used: the call is a replay of an earlier one. */
export function isDuplicateJobUuid(ex: Exchange): boolean {
  return ex.status === 400 && ex.text.startsWith('Duplicate job uuid');
}

const RUNNING: JobState = Object.freeze({ state: 'running' });
const EXPIRED: JobState = Object.freeze({ state: 'expired' });

/**
 * A job poll's answer (`GET /v1/api-jobs/{uuid}`): 202 running, 200 its result, 503 its ErrorCode,
 * 404 expired or unknown; anything else, or a 503 without an ErrorCode, is thrown.
 */
export function jobStateOf(ex: Exchange, jobUuid: string): JobState {
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
