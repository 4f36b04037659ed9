import { GraphQLError } from 'graphql';
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackError,
  ZStackHttpError,
  ZStackJobExpiredError,
  ZStackJobPendingError,
  ZStackRequestTooLargeError,
  ZStackResponseTooLargeError,
  ZStackUnavailableError,
} from './zstack/errors.js';
import type { ApiErrorCode } from './zstack/types.js';

/**
 * Every `extensions.code` a caller can get from the gateway: the one list, used by every refusal,
 * by the upstream-error mapping and by the tests (the README's error table documents each).
 */
export const ErrorCode = {
  // The caller and ZStack
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  JOB_PENDING: 'JOB_PENDING',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // The request itself (GraphQL over HTTP)
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  PERSISTED_QUERY_ONLY: 'PERSISTED_QUERY_ONLY',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_MISMATCH: 'PERSISTED_QUERY_MISMATCH',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  // Limits
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  DEPTH_LIMIT_EXCEEDED: 'DEPTH_LIMIT_EXCEEDED',
  ALIAS_LIMIT_EXCEEDED: 'ALIAS_LIMIT_EXCEEDED',
  TOKEN_LIMIT_EXCEEDED: 'TOKEN_LIMIT_EXCEEDED',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  SUBSCRIPTION_LIMIT_EXCEEDED: 'SUBSCRIPTION_LIMIT_EXCEEDED',
  DOCUMENT_SIZE_LIMIT_EXCEEDED: 'DOCUMENT_SIZE_LIMIT_EXCEEDED',
  ROW_LIMIT_EXCEEDED: 'ROW_LIMIT_EXCEEDED',
  UPSTREAM_CALL_LIMIT_EXCEEDED: 'UPSTREAM_CALL_LIMIT_EXCEEDED',
  NAME_LIMIT_EXCEEDED: 'NAME_LIMIT_EXCEEDED',
  RESOURCE_LIMIT_EXCEEDED: 'RESOURCE_LIMIT_EXCEEDED',
  UPSTREAM_REQUEST_TOO_LARGE: 'UPSTREAM_REQUEST_TOO_LARGE',
  UPSTREAM_RESPONSE_TOO_LARGE: 'UPSTREAM_RESPONSE_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** ZStack ErrorCode.code → GraphQL code; anything not listed is UPSTREAM_ERROR. */
const zstackCodes: Record<string, ErrorCode> = {
  'ID.1000': ErrorCode.UNAUTHENTICATED,
  'ID.1001': ErrorCode.UNAUTHENTICATED,
  'ID.1002': ErrorCode.FORBIDDEN,
  'ID.1003': ErrorCode.FORBIDDEN,
  'SYS.1003': ErrorCode.NOT_FOUND,
  'SYS.1007': ErrorCode.BAD_USER_INPUT,
  'SYS.1001': ErrorCode.UPSTREAM_TIMEOUT,
};

/** A deliberate error for input the gateway refuses before any upstream call. */
export function badInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: field ? { code: ErrorCode.BAD_USER_INPUT, field } : { code: ErrorCode.BAD_USER_INPUT },
  });
}

/**
 * ZStack sent a value the gateway cannot represent (an unknown status, an unreadable date, a missing
 * required field): a field error, so the rest of the answer still reaches the caller.
 */
export function unrepresentable(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UPSTREAM_ERROR } });
}

/**
 * A write whose input would make an upstream call larger than ZSTACK_MAX_REQUEST_BYTES, refused
 * before any call (and before its idempotency key is hashed): the same code and words as the
 * client's own check (ZStackRequestTooLargeError).
 */
export function requestTooLarge(limitBytes: number): GraphQLError {
  return new GraphQLError(new ZStackRequestTooLargeError(limitBytes).message, {
    extensions: { code: ErrorCode.UPSTREAM_REQUEST_TOO_LARGE, limitBytes },
  });
}

export function unauthenticated(
  message = 'This operation needs a ZStack session: send Authorization: OAuth <session uuid>.',
) {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED } });
}

/** The GraphQL code for a ZStack ErrorCode.code. */
export function codeForZStack(zstackCode: string): ErrorCode {
  return zstackCodes[zstackCode] ?? ErrorCode.UPSTREAM_ERROR;
}

/** How many levels of `cause`/`causes` a cleaned ErrorCode keeps (ZStack chains are a few deep). */
export const MAX_ERROR_CAUSE_DEPTH = 32;

/**
 * Keeps only ErrorCode's documented fields, down its `cause`/`causes` chain to
 * MAX_ERROR_CAUSE_DEPTH levels, so nothing unexpected rides along. Iterative: the chain is ZStack's
 * data and may be arbitrarily deep.
 */
export function cleanErrorCode(e: ApiErrorCode): Record<string, unknown> {
  const fields = (from: ApiErrorCode): Record<string, unknown> => {
    const out: Record<string, unknown> = { code: from.code };
    for (const key of ['description', 'details', 'elaboration', 'location', 'cost', 'opaque'] as const) {
      if (from[key] !== undefined && from[key] !== null) out[key] = from[key];
    }
    return out;
  };
  const root = fields(e);
  const stack: { from: ApiErrorCode; to: Record<string, unknown>; depth: number }[] = [
    { from: e, to: root, depth: 0 },
  ];
  while (stack.length > 0) {
    const { from, to, depth } = stack.pop() as (typeof stack)[number];
    if (depth >= MAX_ERROR_CAUSE_DEPTH) continue;
    if (from.cause) {
      to.cause = fields(from.cause);
      stack.push({ from: from.cause, to: to.cause as Record<string, unknown>, depth: depth + 1 });
    }
    if (Array.isArray(from.causes)) {
      const causes = from.causes.map(fields);
      to.causes = causes;
      from.causes.forEach((cause, i) => {
        stack.push({ from: cause, to: causes[i] as Record<string, unknown>, depth: depth + 1 });
      });
    }
  }
  return root;
}

function upstreamExtensions(err: ZStackError): Record<string, unknown> {
  if (err instanceof ZStackApiError) {
    return {
      code: codeForZStack(err.errorCode.code),
      zstack: cleanErrorCode(err.errorCode),
    };
  }
  if (err instanceof ZStackJobPendingError) return { code: ErrorCode.JOB_PENDING };
  if (err instanceof ZStackJobExpiredError)
    return { code: ErrorCode.UPSTREAM_ERROR, mayHaveBeenApplied: true };
  if (err instanceof ZStackHttpError) {
    return err.mayHaveApplied
      ? { code: ErrorCode.UPSTREAM_ERROR, httpStatus: err.status, mayHaveBeenApplied: true }
      : { code: ErrorCode.UPSTREAM_ERROR, httpStatus: err.status };
  }
  if (err instanceof ZStackUnavailableError) {
    return err.mayHaveApplied
      ? { code: ErrorCode.UPSTREAM_UNAVAILABLE, mayHaveBeenApplied: true }
      : { code: ErrorCode.UPSTREAM_UNAVAILABLE };
  }
  if (err instanceof ZStackAbortedError) return { code: ErrorCode.UPSTREAM_UNAVAILABLE };
  if (err instanceof ZStackRequestTooLargeError)
    return { code: ErrorCode.UPSTREAM_REQUEST_TOO_LARGE, limitBytes: err.limitBytes };
  if (err instanceof ZStackResponseTooLargeError) {
    const extensions: Record<string, unknown> = {
      code: ErrorCode.UPSTREAM_RESPONSE_TOO_LARGE,
      scope: err.perOperation ? 'operation' : 'call',
      limitBytes: err.limitBytes,
    };
    if (err.mayHaveApplied) extensions.mayHaveBeenApplied = true;
    return extensions;
  }
  return { code: ErrorCode.UPSTREAM_ERROR };
}

function upstreamMessage(err: ZStackError): string {
  if (
    (err instanceof ZStackUnavailableError ||
      err instanceof ZStackHttpError ||
      err instanceof ZStackResponseTooLargeError) &&
    err.mayHaveApplied
  ) {
    return `${err.message}. The request may have reached ZStack and been applied; check before retrying.`;
  }
  return err.message;
}

/**
 * The one place errors become what callers see (yoga's maskError): upstream errors get their code,
 * deliberate GraphQLErrors pass through, anything else is masked.
 */
export function maskError(error: unknown): Error {
  if (!(error instanceof GraphQLError)) return masked();
  const original = error.originalError;
  if (original instanceof ZStackError) {
    const extensions = upstreamExtensions(original);
    if (original.jobUuid) extensions.jobUuid = original.jobUuid;
    return new GraphQLError(upstreamMessage(original), {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions,
    });
  }
  if (!original || original instanceof GraphQLError) return error;
  return masked(error);
}

function masked(error?: GraphQLError): GraphQLError {
  return new GraphQLError('Unexpected error.', {
    nodes: error?.nodes,
    source: error?.source,
    positions: error?.positions,
    path: error?.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  });
}
