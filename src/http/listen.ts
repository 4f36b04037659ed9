import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { App } from '../app.js';
import type { Config } from '../config/index.js';
import { ConnectionTable, type RefusalScope } from './connections.js';
import { REQUEST_TIMEOUT, rawAnswer, refusalBody } from './refusals.js';

export interface Listening {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
}

/** Where to listen and the connection limits (src/config/types.ts documents each). */
export type ListenOptions = Pick<
  Config,
  | 'port'
  | 'host'
  | 'maxConnections'
  | 'maxConnectionsPerClient'
  | 'headersTimeoutMs'
  | 'requestTimeoutMs'
  | 'keepAliveTimeoutMs'
>;

/** How often node looks for requests past their headers or request timeout. */
export function checkingIntervalMs(o: Pick<ListenOptions, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  // node's default (30 s) would let a trickling client hold its socket up to 30 s past the timeout.
  return Math.max(10, Math.min(1000, Math.floor(Math.min(o.headersTimeoutMs, o.requestTimeoutMs) / 4)));
}

/** Refused and evicted connections are logged at most this often, with counts: an attack must not flood the log. */
const DROP_LOG_INTERVAL_MS = 10_000;

const TIMEOUT_RESPONSE = rawAnswer(408, 'Request Timeout', refusalBody(REQUEST_TIMEOUT));

/** node's own answers to requests it cannot parse (what it sends when no clientError listener is set). */
function clientErrorResponse(code: string | undefined): string {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return TIMEOUT_RESPONSE;
  if (code === 'HPE_HEADER_OVERFLOW')
    return 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW')
    return 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n';
  return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
}

/**
 * The node server every served gateway runs on, `npm start` and the tests alike: the app's handler
 * with the connection limits. A client that trickles its headers or body is cut at the headers /
 * request timeout (HTTP 408, code REQUEST_TIMEOUT); the time an answer takes is not limited here,
 * so SSE streams and long job waits stay open. At `maxConnections` (in all) or
 * `maxConnectionsPerClient` (from one address), the oldest idle keep-alive connection (of that
 * address) is closed to make room; only when none is idle is the new connection closed as soon as
 * it is accepted (src/http/connections.ts), so neither slow nor idle clients use up the descriptors.
 */
export async function listen(app: App, options: ListenOptions): Promise<Listening> {
  const server = createServer({ connectionsCheckingInterval: checkingIntervalMs(options) }, app.handler);
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  // Keep it longer than common load balancers' idle timeouts (60 s), so the balancer, not the
  // gateway, closes idle keep-alive connections and never sends a request onto a closing socket.
  server.keepAliveTimeout = options.keepAliveTimeoutMs;

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err.code));
    // A client that never reads must not keep the descriptor.
    socket.destroySoon();
  });

  const counts = { refused: { total: 0, client: 0 }, evicted: { total: 0, client: 0 } };
  const logged = { refused: 0, evicted: 0 };
  const report = (what: 'refused' | 'evicted', scope: RefusalScope) => {
    counts[what][scope]++;
    const now = Date.now();
    if (now - logged[what] < DROP_LOG_INTERVAL_MS) return;
    logged[what] = now;
    const limits = {
      maxConnections: options.maxConnections,
      maxConnectionsPerClient: options.maxConnectionsPerClient,
      droppedSinceStart: counts.refused.total + counts.refused.client,
      refusedSinceStart: counts.refused,
      idleClosedSinceStart: counts.evicted,
    };
    const cap = scope === 'total' ? 'MAX_CONNECTIONS' : 'MAX_CONNECTIONS_PER_CLIENT';
    if (what === 'refused') app.logger.warn(limits, `connection refused: ${cap} reached`);
    else app.logger.info(limits, `idle connection closed to make room: ${cap} reached`);
  };
  const table = new ConnectionTable(options, {
    onRefused: (scope) => report('refused', scope),
    onEvicted: (scope) => report('evicted', scope),
  });
  table.attach(server);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // An upgraded socket is never idle: it is not closed to make room for newcomers.
    table.hold(socket);
    app.upgrade(req, socket, head);
  });

  return bind(server, options);
}

/** The METRICS_PORT server: only GET /metrics (app.metricsHandler); scrapers are few and quick. */
export function listenMetrics(app: App, options: { port: number; host: string }): Promise<Listening> {
  const server = createServer(app.metricsHandler);
  server.maxConnections = 64;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return bind(server, options);
}

async function bind(server: Server, options: { port: number; host: string }): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
