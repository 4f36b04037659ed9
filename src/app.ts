import type { IncomingMessage, RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from './config/index.js';
import { createGateway, type Gateway, type GatewayDeps } from './gateway.js';
import { observedGateway, reportMasked } from './http/app-logs.js';
import { createCors } from './http/cors.js';
import { createGraphQLEntry } from './http/graphql-entry.js';
import { createReadiness, type Readiness } from './http/health.js';
import { InFlight } from './http/in-flight.js';
import { createProbes } from './http/probes.js';
import { IdentifiedSessions, requestLog } from './http/request-log.js';
import { createRouter, pathOf, requestIdOf } from './http/router.js';
import { createUpgrade } from './http/upgrade.js';
import { serveWebhook, webhookPath } from './http/webhook.js';
import type { FeedTimer } from './live/feed-schedule.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Tracing } from './observability/tracing.js';

export interface AppOptions {
  /** Where log lines go; a pino logger at `config.logLevel` on stdout (asynchronous) when unset. */
  logger?: Logger;
  metrics?: Metrics;
  /**
   * OpenTelemetry (src/observability/tracing.ts, imported by the caller only when configured): a
   * span per operation and per upstream call and job wait. None when unset.
   */
  tracer?: Tracing;
  /** Passed to createGateway (an upstream client for tests); the observability hooks are added. */
  /**
   * Which engine answers a JSON POST: ours (default) or yoga's handler (GRAPHQL_POST_ENTRY=yoga, for
   * the bench's side-by-side row; src/http/router.ts).
   */
  postEntry?: 'ours' | 'yoga';
  /**
   * Compiles with @envelop/graphql-jit instead of our jit plugin (GRAPHQL_JIT_PLUGIN=envelop, for the
   * bench's side-by-side row; src/plugins/jit-envelop.ts). Unset: ours.
   */
  envelopJit?: GatewayDeps['envelopJit'];
  /**
   * AbortController signals (per request and per upstream call) instead of CloseSignal and the
   * transport's Attempt (ABORT_SIGNALS=abort-controller, for the bench's side-by-side row).
   */
  abortControllers?: boolean;
  deps?: Pick<GatewayDeps, 'client' | 'graphiqlQuery' | 'feedTimer' | 'graphiqlPackage' | 'onJobNotice'> & {
    /** The heartbeats' timers of multipart subscription streams (tests drive them); real ones when unset. */
    heartbeatTimer?: FeedTimer;
  };
}

export interface App {
  gateway: Gateway;
  /** The node request listener: every request the gateway serves goes through it. */
  handler: RequestListener;
  /**
   * The node server's 'upgrade' listener: GraphQL over WebSocket (graphql-transport-ws) at /graphql,
   * after the Origin check and the socket cap; anything else is refused and its socket closed.
   */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Open GraphQL-over-WebSocket sockets. */
  readonly sockets: number;
  /**
   * The listener of METRICS_PORT's server: GET /metrics, 404 for anything else. With METRICS_PORT
   * set, `handler` does not serve /metrics (it goes to GraphQL's 404 like any unknown path).
   */
  metricsHandler: RequestListener;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  /** GraphQL requests whose response has not finished yet. */
  readonly inFlight: number;
  /**
   * Shutdown has begun: /ready answers 503, every response from now on closes its connection and
   * every open subscription ends with `complete` (gateway.drain()).
   */
  drain(): void;
  /**
   * Shutdown's grace end: from `time` (Date.now() based) on, upstream calls and job waits stop, so
   * every request still running answers (a mutation waiting for its job: JOB_PENDING + jobUuid).
   */
  endWorkAt(time: number): void;
  /** Resolves once no GraphQL request is in flight and no WebSocket is open. */
  idle(): Promise<void>;
  /** The grace period is over: every WebSocket still open is cut (node's closeAllConnections does not see them). */
  closeSockets(): void;
  /** gateway.close() and the readiness pool. */
  close(): Promise<void>;
}

/**
 * The HTTP application around the gateway: it only composes the named units of the request path.
 * Every request takes one route (src/http/router.ts decides it):
 * - `/health`, `/ready`, `/metrics`: serveProbe (src/http/probes.ts);
 * - the job-callback path of ZSTACK_WEBHOOK_URL: serveWebhook (src/http/webhook.ts);
 * - anything else: serveGraphQL (src/http/graphql-entry.ts), which serves the router's verdict:
 *   a JSON POST by the JSON POST entry (src/http/graphql-post.ts, yoga's envelop pipeline driven
 *   from node:http), Apollo's multipart subscriptions by the same entry (src/http/graphql-multipart.ts),
 *   GET, SSE and GraphiQL by yoga's own handler, and refusals (src/http/refusals.ts);
 * - a WebSocket upgrade of /graphql: serveUpgrade (src/http/upgrade.ts, src/http/websocket.ts).
 */
export function createApp(config: Config & { zstackUrl: string }, options: AppOptions = {}): App {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = options.metrics ?? createMetrics();
  const readiness = createReadiness({
    zstackUrl: config.zstackUrl,
    timeoutMs: config.readyTimeoutMs,
    cacheMs: config.readyCacheMs,
  });
  const onMasked = reportMasked(logger);
  const identified = new IdentifiedSessions();
  const gateway = createGateway(config, {
    ...options.deps,
    envelopJit: options.envelopJit,
    abortControllers: options.abortControllers,
    ...observedGateway(logger, metrics, identified, onMasked, options.tracer),
  });
  const { yoga } = gateway;
  const cors = createCors({
    corsOrigins: config.corsOrigins,
    publicOrigins: config.publicOrigins,
    host: config.host,
  });
  const graphqlPath = yoga.graphqlEndpoint;
  const hookPath = config.zstackWebhookUrl === undefined ? undefined : webhookPath(config.zstackWebhookUrl);
  const router = createRouter({
    graphqlPath,
    assetsPath: gateway.graphiqlAssetsPath,
    hookPath,
    metricsHere: config.metricsPort === undefined,
    maxBodyBytes: config.maxBodyBytes,
    postEntry: options.postEntry ?? 'ours',
  });
  const logRequest = requestLog(logger, metrics, identified, graphqlPath);
  const inFlight = new InFlight();
  let draining = false;
  const serveGraphQL = createGraphQLEntry({
    abortControllers: options.abortControllers,
    router,
    cors,
    gateway,
    inFlight,
    logRequest,
    onMasked,
    maxBodyBytes: config.maxBodyBytes,
    heartbeatTimer: options.deps?.heartbeatTimer,
  });
  const { serveProbe, metricsHandler } = createProbes({ readiness, metrics, draining: () => draining });
  const { serveUpgrade: upgrade, sockets } = createUpgrade(config, {
    graphqlPath,
    cors,
    gateway,
    logRequest,
    onMasked,
    draining: () => draining,
  });

  const handler: RequestListener = (req, res) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    if (draining) res.setHeader('connection', 'close');
    const path = pathOf(req.url);
    const route = router.routeOf(path);
    if (route === 'probe') serveProbe(req, res, path);
    else if (route === 'webhook') serveWebhook(req, res, config.zstackWebhookMaxBodyBytes, gateway);
    else serveGraphQL(req, res, id, path);
  };

  return {
    gateway,
    handler,
    upgrade,
    get sockets() {
      return sockets.size;
    },
    metricsHandler,
    logger,
    metrics,
    readiness,
    get inFlight() {
      return inFlight.size;
    },
    drain() {
      draining = true;
      gateway.drain();
      sockets.drain();
      inFlight.closeWhenDone();
    },
    endWorkAt: (time) => gateway.client.endWorkAt?.(time),
    idle: () => Promise.all([inFlight.idle(), sockets.idle()]).then(() => undefined),
    closeSockets: () => sockets.terminate(),
    async close() {
      sockets.close();
      await gateway.close();
      await readiness.close();
    },
  };
}
