import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/index.js';
import type { Gateway } from '../gateway.js';
import type { RequestScope } from '../observability/request-scope.js';
import type { Cors } from './cors.js';
import { NOT_FOUND, plain, REFUSED_ORIGIN, refusalBody, refuseUpgrade, socketsFull } from './refusals.js';
import type { RequestLog } from './request-log.js';
import { pathOf, requestIdOf } from './router.js';
import { createWebSocketEntry } from './websocket.js';

export interface UpgradeOptions {
  graphqlPath: string;
  cors: Cors;
  gateway: Pick<Gateway, 'yoga' | 'persisted'>;
  /** An operation over a socket ended: its log line and metrics. */
  logRequest: RequestLog;
  /** Logs an error the caller sees masked. */
  onMasked(error: unknown, scope: RequestScope | undefined): void;
  /** Shutdown has begun: no new socket. */
  draining(): boolean;
}

/** The WebSocket settings of src/config/types.ts. */
type SocketConfig = Pick<
  Config,
  | 'wsMaxSockets'
  | 'wsMaxOperationsPerSocket'
  | 'wsConnectionInitTimeoutMs'
  | 'wsPingIntervalMs'
  | 'maxBodyBytes'
  | 'streamMaxBufferedBytes'
>;

/**
 * The node server's 'upgrade' listener: GraphQL over WebSocket at /graphql once the Origin, the
 * drain and WS_MAX_SOCKETS allow it; anything else is refused on its raw socket, which then closes.
 */
export function createUpgrade(config: SocketConfig, o: UpgradeOptions) {
  const maxSockets = config.wsMaxSockets;
  const sockets = createWebSocketEntry({
    maxSockets,
    maxOperationsPerSocket: config.wsMaxOperationsPerSocket,
    connectionInitTimeoutMs: config.wsConnectionInitTimeoutMs,
    pingIntervalMs: config.wsPingIntervalMs,
    maxMessageBytes: config.maxBodyBytes,
    maxBufferedBytes: config.streamMaxBufferedBytes,
    getEnveloped: (initial) => o.gateway.yoga.getEnveloped(initial as never) as never,
    persisted: o.gateway.persisted,
    // An operation over a socket: one line and its metrics, as a request (status 200: the socket's own is 101).
    onOperationEnd: (scope, aborted) => o.logRequest(200, aborted, scope),
    onInternalError: (error) => o.onMasked(error, undefined),
  });
  function serveUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== o.graphqlPath || maxSockets === 0) {
      refuseUpgrade(socket, 404, 'Not Found', refusalBody(NOT_FOUND));
      return;
    }
    // A page of another site must not open a socket with its visitor's credentials (cross-site
    // WebSocket hijacking): browsers send Origin on every upgrade, and no CORS check applies to it.
    if (o.cors.verdict(req) === 'refused') {
      refuseUpgrade(socket, 403, 'Forbidden', refusalBody(REFUSED_ORIGIN));
      return;
    }
    if (o.draining()) {
      refuseUpgrade(socket, 503, 'Service Unavailable', plain.draining);
      return;
    }
    if (!sockets.hasRoom()) {
      refuseUpgrade(socket, 503, 'Service Unavailable', refusalBody(socketsFull(maxSockets)));
      return;
    }
    sockets.upgrade(req, socket, head, requestIdOf(req.headers['x-request-id']));
  }
  return { serveUpgrade, sockets };
}
