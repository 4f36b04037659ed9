import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';
import type { RequestScope } from '../observability/request-scope.js';
import { serializeResult } from './media.js';
import { sendJson } from './respond.js';

/**
 * Every refusal the HTTP layer makes itself, before or outside GraphQL execution: its status and
 * coded error (the code from the one list, src/errors.ts). The router, the JSON POST entry, the
 * upgrade and the listener's timeout all take theirs from here.
 */
export interface Refusal {
  status: number;
  message: string;
  code: ErrorCode;
  /** More of `extensions` than the code (a limit's scope and value). */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const refusal = (status: number, code: ErrorCode, message: string): Refusal => ({ status, code, message });

export const REFUSED_ORIGIN = refusal(
  403,
  ErrorCode.FORBIDDEN,
  'This origin may not call the gateway (see CORS_ORIGINS and PUBLIC_ORIGINS).',
);
export const NOT_JSON = refusal(
  415,
  ErrorCode.BAD_REQUEST,
  'Send GraphQL requests as Content-Type: application/json.',
);
export const NOT_FOUND = refusal(
  404,
  ErrorCode.NOT_FOUND,
  'Not found: GraphQL is served at /graphql exactly.',
);
export const NOT_ACCEPTABLE = refusal(
  406,
  ErrorCode.NOT_ACCEPTABLE,
  'Accept application/graphql-response+json, application/json, text/event-stream or multipart/mixed;subscriptionSpec=1.0.',
);
export const SUBSCRIPTION_NEEDS_STREAM = refusal(
  406,
  ErrorCode.NOT_ACCEPTABLE,
  'A subscription is answered as a stream: send it with Accept: text/event-stream (or multipart/mixed;subscriptionSpec=1.0).',
);
export const DEFER_NEEDS_PARTS = refusal(
  406,
  ErrorCode.NOT_ACCEPTABLE,
  'A document with @defer or @stream is answered in parts: send it with Accept: multipart/mixed;deferSpec=20220824 or text/event-stream.',
);
export const REQUEST_TIMEOUT = refusal(
  408,
  ErrorCode.REQUEST_TIMEOUT,
  'The request was not received in time (see HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS).',
);
/** The body is over MAX_BODY_BYTES; the connection closes (the rest is not read). */
export const tooLarge = (maxBytes: number): Refusal => ({
  ...refusal(413, ErrorCode.PAYLOAD_TOO_LARGE, `The request body is larger than ${maxBytes} bytes.`),
  headers: { connection: 'close' },
});
/** A request that is not valid GraphQL over HTTP (400 BAD_REQUEST). */
export const badRequest = (message: string): Refusal => refusal(400, ErrorCode.BAD_REQUEST, message);
/** `operationName` names no operation of the document, or is needed and missing. */
export const unresolvedOperation = (operationName: string | null | undefined): Refusal =>
  refusal(
    400,
    ErrorCode.OPERATION_RESOLUTION_FAILURE,
    operationName
      ? `Unknown operation named "${operationName}".`
      : 'Must provide operation name if query contains multiple operations.',
  );
/** WS_MAX_SOCKETS WebSockets are open already. */
export const socketsFull = (maxSockets: number): Refusal => ({
  ...refusal(
    503,
    ErrorCode.WEBSOCKET_LIMIT_EXCEEDED,
    `The gateway already serves ${maxSockets} WebSockets (WS_MAX_SOCKETS): retry later.`,
  ),
  extensions: { scope: 'sockets', limit: maxSockets },
});

/** The refusal as the coded GraphQL error its caller gets. */
export function refusalError(r: Refusal): GraphQLError {
  return new GraphQLError(r.message, { extensions: { code: r.code, ...r.extensions } });
}

/** The refusal's JSON body (a GraphQL response with its one error). */
export function refusalBody(r: Refusal): string {
  return serializeResult({ errors: [refusalError(r)] });
}

/** Sends a refusal as a GraphQL response, counted on the request's scope. */
export function refuse(res: ServerResponse, scope: RequestScope | undefined, r: Refusal): void {
  const error = refusalError(r);
  scope?.noteErrors([error]);
  sendJson(res, r.status, serializeResult({ errors: [error] }), undefined, r.headers);
}

/** A raw HTTP/1.1 answer, for a socket that has no response object (an upgrade, a timed-out request). */
export function rawAnswer(status: number, reason: string, body: string): string {
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Refuses an upgrade on its raw socket and closes it. */
export function refuseUpgrade(socket: Socket, status: number, reason: string, body: string): void {
  if (socket.writable) socket.end(rawAnswer(status, reason, body));
  socket.destroySoon();
}

/** The answers of the plain-JSON routes (probes, metrics): a status word, no GraphQL. */
export const plain = {
  draining: JSON.stringify({ status: 'draining' }),
  methodNotAllowed: JSON.stringify({ status: 'method not allowed' }),
  notFound: JSON.stringify({ status: 'not found' }),
  error: JSON.stringify({ status: 'error' }),
};
