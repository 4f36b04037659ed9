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
 * Every `extensions.code` a caller can get from the gateway, each with what happened and what a
 * client should do: the one list. The mapping below, every refusal and the tests import it; the
 * schema's `enum ErrorCode` (src/schema/error-code.ts) and so every generated client are built from
 * it, and a test holds the README's error table to it. A new code is one line here.
 */
export const errorCodeDescriptions = {
  // The caller and ZStack
  UNAUTHENTICATED:
    'No session was sent, or ZStack refused the credentials or the session (expired, logged out). Log in again (logIn) and send `Authorization: OAuth <session uuid>`.',
  FORBIDDEN:
    "ZStack refused the caller this action (not this ticket's approver, a quota), or a browser page from an origin the gateway does not allow made the request. Do not retry as is; show the message.",
  NOT_FOUND:
    'ZStack has no such resource (it may have been deleted), or the HTTP path is not /graphql. Refresh what the screen shows.',
  BAD_USER_INPUT:
    'The input was refused before anything was sent to ZStack (a malformed uuid, a value too long or too deep, a variable of the wrong type, a missing one), or ZStack refused an argument. Correct the input; `extensions.field` names it when known.',
  UPSTREAM_TIMEOUT: 'ZStack itself reported a timeout. Retry a read later; check a write before retrying it.',
  UPSTREAM_ERROR:
    'ZStack failed or answered something the gateway cannot represent; `extensions.zstack` carries its ErrorCode. For a write, `extensions.mayHaveBeenApplied` says whether to check before retrying.',
  UPSTREAM_UNAVAILABLE:
    'ZStack could not be reached or did not answer in time. Retry a read later; for a write, `extensions.mayHaveBeenApplied` says whether to check before retrying.',
  JOB_PENDING:
    'The write was sent once and its ZStack job was still running when the gateway stopped waiting. Do not resend it: follow `extensions.jobUuid` with the apiJob query.',
  INTERNAL_SERVER_ERROR:
    'An unexpected error in the gateway; its details are logged, never sent. Retry later, and report it if it persists.',
  // The request itself (GraphQL over HTTP)
  BAD_REQUEST:
    'The HTTP request is not valid GraphQL over HTTP (a body that is not a JSON object, a batch, no query, parameters of the wrong type, a POST that is not application/json, a mutation over GET). Fix the client.',
  NOT_ACCEPTABLE:
    'The Accept header allows nothing the gateway sends, or a subscription or a @defer/@stream document asked for a single JSON answer. Accept application/graphql-response+json, application/json, text/event-stream or multipart/mixed (subscriptionSpec=1.0, deferSpec=20220824).',
  GRAPHQL_PARSE_FAILED: 'The document is not valid GraphQL syntax. Fix the document.',
  GRAPHQL_VALIDATION_FAILED:
    'The document does not validate against this schema (an unknown field, a wrong argument). Regenerate the client from schema.graphql.',
  OPERATION_RESOLUTION_FAILURE:
    'The document has several operations and `operationName` names none of them. Send the name of the operation to run.',
  PERSISTED_QUERY_NOT_IN_LIST:
    'The gateway does not know this persisted-operation hash. Deploy a client whose manifest the gateway was started with.',
  PERSISTED_QUERY_ONLY:
    'The gateway runs only persisted operations and a document was sent as text. Send its hash instead.',
  PERSISTED_QUERY_NOT_FOUND:
    "An automatic persisted query: the gateway does not know this hash (yet). Send the request again with the document and its hash; Apollo's PersistedQueryLink does so by itself.",
  PERSISTED_QUERY_MISMATCH:
    "An automatic persisted query whose sha256Hash is not the hash of the document sent with it; nothing ran and nothing was stored. Fix the client's hashing.",
  PERSISTED_QUERY_NOT_SUPPORTED:
    'A persisted-query hash was sent but this gateway runs neither a manifest nor automatic persisted queries. Send documents as text.',
  // Limits
  PAYLOAD_TOO_LARGE: 'The request body is over the size limit (HTTP 413). Send a smaller request.',
  REQUEST_TIMEOUT:
    'The request headers or body did not arrive in time (HTTP 408, connection closed). Send it again, faster.',
  DEPTH_LIMIT_EXCEEDED: 'The document is nested deeper than the depth limit. Nothing ran; ask for less.',
  ALIAS_LIMIT_EXCEEDED: 'The document has more aliases than the alias limit. Nothing ran; ask for less.',
  TOKEN_LIMIT_EXCEEDED: 'The document has more tokens than the token limit. Nothing ran; ask for less.',
  COST_LIMIT_EXCEEDED:
    'The operation, with its variables, would cost more than the cost limit (or introspect too much). Nothing ran; ask for smaller pages or fewer fields.',
  SUBSCRIPTION_LIMIT_EXCEEDED:
    'Too many ticketUpdated streams are open for this session, account, client or gateway (`extensions.scope`, `extensions.limit`). Close a stream before opening another.',
  DOCUMENT_SIZE_LIMIT_EXCEEDED:
    'The document text is over the size limit. Nothing ran; send a shorter document or a persisted one.',
  ROW_LIMIT_EXCEEDED:
    'The operation would read more rows from ZStack than the per-operation limit; that field is null, the rest arrived. Page with smaller requests.',
  UPSTREAM_CALL_LIMIT_EXCEEDED:
    'The operation already made as many calls to ZStack as one operation may (`extensions.limit`); this one was not sent, that field is null, the rest arrived. Split the operation.',
  NAME_LIMIT_EXCEEDED:
    'The operation asked for names of more distinct uuids than one operation may (`extensions.limit`); this one was not looked up (null). Ask for fewer names per operation.',
  RESOURCE_LIMIT_EXCEEDED:
    'A ticket request names more resources than one list shows (`extensions.limit`); the list was cut, a null entry stands for the rest. Show that more exist.',
  UPSTREAM_REQUEST_TOO_LARGE:
    'The call to ZStack would carry more bytes than the gateway sends in one call (`extensions.limitBytes`); nothing was sent. Send a smaller input.',
  UPSTREAM_RESPONSE_TOO_LARGE:
    'The answer of ZStack was larger than the gateway reads for one call or one operation (`extensions.scope`: call or operation, `extensions.limitBytes`); it was not read, that field is null. Ask for smaller pages; for a write, check before retrying.',
  WEBSOCKET_LIMIT_EXCEEDED:
    'GraphQL over WebSocket: this socket already runs as many operations as one socket may (`extensions.scope: "operations"`; complete one first), or the gateway has as many sockets open as it allows (`"sockets"`: the upgrade is answered HTTP 503). Retry later or use another transport.',
  RATE_LIMITED:
    'logIn was refused before reaching ZStack: too many attempts from this address or failures for this account. Wait `extensions.retryAfterSeconds` (also the Retry-After header).',
} as const satisfies Record<string, string>;

/** A code of the list; `ErrorCode.X` is the string 'X'. */
export type ErrorCode = keyof typeof errorCodeDescriptions;
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(errorCodeDescriptions).map((code) => [code, code])),
) as { readonly [K in ErrorCode]: K };

/** Whether a value is one of the gateway's codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodeDescriptions, value);
}

/** ZStack ErrorCode.code → GraphQL code; anything not listed is UPSTREAM_ERROR. */
const zstackCodes: Record<string, ErrorCode> = {
  'ID.1000': ErrorCode.UNAUTHENTICATED,
  'ID.1001': ErrorCode.UNAUTHENTICATED,
  'ID.1002': ErrorCode.FORBIDDEN,
  'ID.1003': ErrorCode.FORBIDDEN,
  'SYS.1003': ErrorCode.NOT_FOUND,
  // An API argument ZStack refused (its @APIParam checks): the caller's input, relayed.
  'SYS.1007': ErrorCode.BAD_USER_INPUT,
  // ZStack's internal error. A query ZQL refuses (unknown field, unconvertible value, bad sort) lands
  // here too, as a wrapped CloudRuntimeException (QueryFacadeImpl): the gateway checks query input
  // itself before calling, so such a refusal means the gateway and that ZStack disagree (e.g. a
  // field an older ZStack lacks), not that the caller erred.
  'SYS.1000': ErrorCode.UPSTREAM_ERROR,
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
  if (!original || original instanceof GraphQLError) return recoded(error);
  return masked(error);
}

/** Codes yoga gives its own refusals that the list names otherwise: the caller sees one code per refusal. */
const yogaCodes: Record<string, ErrorCode> = {
  // yoga's maxRequestBodySize, on a body it reads itself (a streamed POST without Content-Length)
  REQUEST_ENTITY_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
};

function recoded(error: GraphQLError): GraphQLError {
  const code = error.extensions.code;
  const ours = typeof code === 'string' ? yogaCodes[code] : undefined;
  if (ours === undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: ours },
  });
}

/**
 * graphql-js's own request errors (a variable's value of the wrong type, a required variable not
 * sent) carry no code: they get BAD_USER_INPUT, as the input was refused before anything ran. An
 * error caused by something other than a GraphQLError is left to maskError (an upstream failure of
 * a subscription's opening, or an unexpected one).
 */
export function codeRequestErrors(errors: readonly GraphQLError[] | undefined): void {
  for (const error of errors ?? []) {
    const cause = error.originalError;
    if (cause !== undefined && cause !== null && !(cause instanceof GraphQLError)) continue;
    (error.extensions as Record<string, unknown>).code ??= ErrorCode.BAD_USER_INPUT;
  }
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
