import type { ApiErrorCode } from './types.js';

/** Base of every error the upstream client throws; carries no token, URL or raw body. */
export abstract class ZStackError extends Error {
  /** The async job this error belongs to, when one was created. */
  readonly jobUuid: string | undefined;
  constructor(message: string, jobUuid?: string) {
    super(message);
    this.name = new.target.name;
    this.jobUuid = jobUuid;
  }
}

/** ZStack answered with an ErrorCode: a sync 503 or a failed job. */
export class ZStackApiError extends ZStackError {
  readonly errorCode: ApiErrorCode;
  constructor(errorCode: ApiErrorCode, jobUuid?: string) {
    super([errorCode.description, errorCode.details].filter(Boolean).join(': ') || errorCode.code, jobUuid);
    this.errorCode = errorCode;
  }
}

/**
 * ZStack answered with a status the protocol gives plain text for (400/403/404/405/500), or with a
 * body that does not parse. The message names the status, never the body.
 */
export class ZStackHttpError extends ZStackError {
  readonly status: number;
  /** A short, safe reason (e.g. "malformed JSON"), never the upstream body. */
  readonly reason: string;
  /** True when this answered a write that may have been applied (its outcome is unknown). */
  readonly mayHaveApplied: boolean;
  constructor(status: number, reason: string, jobUuid?: string, options: { mayHaveApplied?: boolean } = {}) {
    super(`ZStack answered HTTP ${status}: ${reason}`, jobUuid);
    this.status = status;
    this.reason = reason;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
  }
}

/** No usable answer: connection refused or reset, or the call outlived its timeout. */
export class ZStackUnavailableError extends ZStackError {
  /** True when the request may have reached ZStack (a write whose outcome is unknown). */
  readonly mayHaveApplied: boolean;
  readonly reason: string;
  constructor(reason: string, options: { mayHaveApplied?: boolean; jobUuid?: string } = {}) {
    super(`ZStack is unavailable: ${reason}`, options.jobUuid);
    this.reason = reason;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
  }
}

/** The job was still running when the gateway stopped waiting for it. The write was sent once. */
export class ZStackJobPendingError extends ZStackError {
  constructor(jobUuid: string) {
    super(`The job ${jobUuid} is still running; query it later with apiJob.`, jobUuid);
  }
}

/** Polling answered 404: the job result expired or is unknown. The write may have been applied. */
export class ZStackJobExpiredError extends ZStackError {
  constructor(jobUuid: string) {
    super(`The result of job ${jobUuid} has expired at ZStack; the write may have been applied.`, jobUuid);
  }
}

/** The caller went away (its AbortSignal fired) before the call finished. */
export class ZStackAbortedError extends ZStackError {
  constructor(jobUuid?: string) {
    super('The request was cancelled by the caller.', jobUuid);
  }
}

/**
 * The body of a call to ZStack would be larger than the gateway's ceiling (ZSTACK_MAX_REQUEST_BYTES):
 * nothing was sent.
 */
export class ZStackRequestTooLargeError extends ZStackError {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`The call to ZStack would carry more than ${limitBytes} bytes; nothing was sent.`);
    this.limitBytes = limitBytes;
  }
}

/**
 * ZStack's answer was larger than the gateway reads (ZSTACK_MAX_RESPONSE_BYTES): it was discarded
 * unread and its connection closed. For a write, the write itself may have been applied.
 */
export class ZStackResponseTooLargeError extends ZStackError {
  readonly limitBytes: number;
  readonly mayHaveApplied: boolean;
  /** The bound passed was the operation's total (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION), not one call's. */
  readonly perOperation: boolean;
  constructor(
    limitBytes: number,
    options: { mayHaveApplied?: boolean; jobUuid?: string; perOperation?: boolean } = {},
  ) {
    super(
      options.perOperation
        ? `ZStack's answers to this operation would pass ${limitBytes} bytes; this one was not read.`
        : `ZStack's answer is larger than ${limitBytes} bytes; it was not read.`,
      options.jobUuid,
    );
    this.limitBytes = limitBytes;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
    this.perOperation = options.perOperation ?? false;
  }
}
