import type { IncomingMessage } from 'node:http';
import type { StreamSink } from '../live/feed-stream.js';
import type { RequestScope } from '../observability/request-scope.js';
import type { PersistedDocuments } from '../plugins/persisted.js';
import type { CloseSignal } from './close-signal.js';
import type { Enveloped } from './graphql-post.js';

/** The WebSocket settings (src/config/types.ts documents each). */
export interface WebSocketLimits {
  /** Most WebSockets open at once (WS_MAX_SOCKETS); 0 = GraphQL over WebSocket is off. */
  maxSockets: number;
  /** Most operations running at once on one socket, subscriptions included (WS_MAX_OPERATIONS_PER_SOCKET). */
  maxOperationsPerSocket: number;
  /** How long a socket may wait before its connection_init (WS_CONNECTION_INIT_TIMEOUT_MS). */
  connectionInitTimeoutMs: number;
  /** WebSocket pings every so often; a socket that did not answer the last one is closed (WS_PING_INTERVAL_MS; 0 = none). */
  pingIntervalMs: number;
  /** Largest message a client may send (MAX_BODY_BYTES): ws closes the socket with 1009 past it. */
  maxMessageBytes: number;
  /** A subscription's socket is cut when more than this many bytes wait to be sent on it (STREAM_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
}

/** What the pipeline gets as its initial context for one WebSocket operation (gateway.ts reads it). */
export interface SocketInitialContext {
  /** The upgrade request, seen with the socket's session header and this operation's scope. */
  req: IncomingMessage;
  /** Where a subscription's events are written: cut when the client does not read. */
  sink: StreamSink;
  /** Aborts when the socket closes. */
  signal: CloseSignal;
  params: SubscribeParams;
}

export interface SubscribeParams {
  query?: string | null;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

export interface WebSocketEntryOptions extends WebSocketLimits {
  getEnveloped(initial: SocketInitialContext): Enveloped & { subscribe(args: unknown): unknown };
  persisted: PersistedDocuments | undefined;
  /** An operation ended (answered, completed, failed, or its socket closed): its log line and metrics. */
  onOperationEnd(scope: RequestScope, aborted: boolean): void;
  /** Something went wrong in the transport itself (a bug): logged, the socket closed with 4500. */
  onInternalError(error: unknown): void;
}
