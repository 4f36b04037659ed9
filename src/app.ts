import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import type { Config } from './config/index.js';
import { sessionFromHeader } from './context.js';
import { ErrorCode } from './errors.js';
import { createGateway, type Gateway, type GatewayDeps } from './gateway.js';
import { readBody } from './http/body.js';
import { type Cors, createCors } from './http/cors.js';
import { acceptsMultipartSubscription, writeMultipart } from './http/graphql-multipart.js';
import {
  type Answer,
  createGraphQLPost,
  isJsonContentType,
  negotiate,
  negotiateJson,
  serializeResult,
} from './http/graphql-post.js';
import { createReadiness, type Readiness } from './http/health.js';
import { sendJson } from './http/respond.js';
import { answerWebhook, webhookPath } from './http/webhook.js';
import { createWebSocketEntry } from './http/websocket.js';
import type { FeedTimer } from './live/feed-schedule.js';
import { createLogger, type Logger, lineWriter, scrub, scrubUuids } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import {
  attachScope,
  createScopePlugin,
  RequestScope,
  scopeOf,
  scopeOfRequest,
} from './observability/request-scope.js';
import type { Tracing } from './observability/tracing.js';
import type { JobEvent, UpstreamCallEvent } from './zstack/client.js';
import { ZStackError } from './zstack/errors.js';

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

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
/** Where serveGraphQL keeps a response's scope for its end listeners. */
const SCOPE: unique symbol = Symbol('scope');

function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** A refusal of the HTTP layer: its status and coded error. */
interface Refusal {
  status: number;
  message: string;
  code: ErrorCode;
  headers?: Record<string, string>;
}

const REFUSED_ORIGIN: Refusal = {
  status: 403,
  message: 'This origin may not call the gateway (see CORS_ORIGINS and PUBLIC_ORIGINS).',
  code: ErrorCode.FORBIDDEN,
};
const NOT_JSON: Refusal = {
  status: 415,
  message: 'Send GraphQL requests as Content-Type: application/json.',
  code: ErrorCode.BAD_REQUEST,
};
const NOT_FOUND: Refusal = {
  status: 404,
  message: 'Not found: GraphQL is served at /graphql exactly.',
  code: ErrorCode.NOT_FOUND,
};
const NOT_ACCEPTABLE: Refusal = {
  status: 406,
  message:
    'Accept application/graphql-response+json, application/json, text/event-stream or multipart/mixed;subscriptionSpec=1.0.',
  code: ErrorCode.NOT_ACCEPTABLE,
};

/** Sends a refusal as a GraphQL response. */
function refuse(res: ServerResponse, scope: RequestScope | undefined, refusal: Refusal): void {
  const error = new GraphQLError(refusal.message, { extensions: { code: refusal.code } });
  scope?.noteErrors([error]);
  sendJson(res, refusal.status, serializeResult({ errors: [error] }), undefined, refusal.headers);
}

/** A ZStack failure as the client reports it, bare or wrapped in a GraphQLError. */
function isUpstreamError(value: unknown): boolean {
  return (
    value instanceof ZStackError ||
    (value instanceof GraphQLError && value.originalError instanceof ZStackError)
  );
}

/** yoga's own log lines: no request to tell whose session they hold, so every uuid goes. */
function yogaLogger(logger: Logger): YogaLogger {
  const log = logger.child({ component: 'yoga' });
  const text = (args: unknown[]) =>
    scrubUuids(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
  return {
    debug: (...args) => {
      if (log.isLevelEnabled('debug')) log.debug(text(args));
    },
    info: (...args) => log.info(text(args)),
    warn: (...args) => log.warn(text(args)),
    error: (...args) => {
      // yoga logs every error its masking replaces, upstream ones too; those reached the caller
      // with their code (an expired session is no fault of the gateway), so they are debug lines.
      if (args.length === 1 && isUpstreamError(args[0])) {
        if (log.isLevelEnabled('debug')) log.debug(text(args));
        return;
      }
      log.error(text(args));
    },
  };
}

/**
 * Routes ZStack answers 2xx whatever the session (logins, ValidateSession, LogOut of an unknown
 * session, a job's result): such an answer proves nothing about the caller.
 */
const SESSIONLESS_ROUTE = /^\/v1\/(?:accounts\/sessions\/|api-jobs\/)|\/login$/;

/** How many sessions IdentifiedSessions remembers before it starts again (a few hundred KB). */
const MAX_IDENTIFIED_SESSIONS = 10_000;

/**
 * Sessions ZStack accepted lately, so that a request of theirs that makes no upstream call of its
 * own (a subscription's opening, a cached screen) still counts as identified for its metrics label.
 * Bounded: past the cap it is emptied, and sessions are remembered again as they are used.
 */
class IdentifiedSessions {
  private readonly sessions = new Set<string>();
  add(session: string): void {
    if (this.sessions.size >= MAX_IDENTIFIED_SESSIONS) this.sessions.clear();
    this.sessions.add(session);
  }
  has(session: string | undefined): boolean {
    return session !== undefined && this.sessions.has(session);
  }
}

/** Upstream calls and job waits, counted on the request's scope, in metrics and debug lines. */
function upstreamObservers(logger: Logger, metrics: Metrics, identified: IdentifiedSessions) {
  return {
    onCall(e: UpstreamCallEvent) {
      metrics.onCall(e);
      const scope = scopeOf(e.tag);
      if (scope) {
        scope.upstreamCalls++;
        scope.upstreamMs += e.durationMs;
        if (
          !scope.identified &&
          typeof e.status === 'number' &&
          e.status < 300 &&
          scope.session !== undefined &&
          !SESSIONLESS_ROUTE.test(e.route)
        ) {
          scope.identified = true;
          identified.add(scope.session);
        }
      }
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { reqId: scope?.id, method: e.method, route: e.route, status: e.status, durationMs: e.durationMs },
          'upstream call',
        );
      }
    },
    onJob(e: JobEvent) {
      metrics.onJob(e);
      const scope = scopeOf(e.tag);
      if (scope) {
        scope.jobs++;
        scope.jobPolls += e.polls;
        scope.jobWaitMs += e.waitMs;
      }
      if (logger.isLevelEnabled('debug')) {
        const { jobUuid, route, polls, waitMs, outcome } = e;
        logger.debug({ reqId: scope?.id, jobUuid, route, polls, waitMs, outcome }, 'job wait');
      }
    },
  };
}

/** A fault of the live feed: one warn line, its message scrubbed of uuids (no session or ticket named). */
function feedErrorLog(logger: Logger) {
  const log = logger.child({ component: 'ticket-feed' });
  return (error: unknown, what: string) => {
    const err = error instanceof Error ? error : new Error(String(error));
    log.warn({ err: { type: err.name, message: scrubUuids(err.message) } }, what);
  };
}

/** A stream cut for not reading: one warn line each (streams are capped, so lines are too). */
function streamCutLog(logger: Logger) {
  const log = logger.child({ component: 'ticket-feed' });
  return (info: { bufferedBytes: number; queuedEvents: number }) =>
    log.warn(info, 'ticketUpdated stream cut: its client does not read (STREAM_MAX_BUFFERED_BYTES)');
}

/**
 * Redis coming and going: one line when it stops answering (closed, refused or timing out), with the
 * fault as an Error, and one when it answers again; never one per failed command.
 */
function redisStateLog(logger: Logger) {
  const log = logger.child({ component: 'redis' });
  let connected = false;
  return (up: boolean, error?: Error) => {
    if (up) {
      log.info(
        connected
          ? 'redis available again: this instance catches up with a poll of its own, then shares again'
          : 'redis connected: pushes, job callbacks and live-update polls are shared with the other instances',
      );
      connected = true;
      return;
    }
    const cause = error ?? new Error('redis unavailable');
    const err = new Error(scrubUuids(cause.message));
    err.name = cause.name;
    err.stack = scrubUuids(cause.stack ?? '');
    log.warn({ err }, 'redis unavailable: this instance polls and pushes on its own until it is back');
  };
}

/** Logs an error the caller only sees as "Unexpected error.", with its request, scrubbed. */
function reportMasked(logger: Logger) {
  return (error: unknown, scope: RequestScope | undefined) => {
    const original = (error as { originalError?: unknown }).originalError ?? error;
    const err = original instanceof Error ? original : new Error(String(original));
    logger.error(
      {
        reqId: scope?.id,
        operation: scope?.operation,
        err: {
          type: err.name,
          message: scrub(err.message, scope?.session),
          stack: scrub(err.stack ?? '', scope?.session),
        },
      },
      'unexpected error, masked from the caller',
    );
  };
}

/** A string member of the request line: JSON-escaped, left out when undefined (as pino does). */
function stringMember(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}

/**
 * One line per request at info (warn for a 5xx or an internal error), and the request metrics: the
 * GraphQL ones for `graphqlPath` only, an HTTP counter by status for any other path (scanners' 404s).
 */
function requestLog(logger: Logger, metrics: Metrics, identified: IdentifiedSessions, graphqlPath: string) {
  const write = lineWriter(logger);
  return (status: number, aborted: boolean, scope: RequestScope) => {
    const ms = performance.now() - scope.started;
    const code = scope.code ?? (status >= 400 ? `HTTP_${status}` : 'OK');
    if (scope.path === graphqlPath) {
      metrics.observeRequest(
        scope.operation,
        code,
        ms / 1000,
        scope.identified || identified.has(scope.session),
      );
    } else {
      metrics.observeHttp(status);
    }
    const level = status >= 500 || code === ErrorCode.INTERNAL_SERVER_ERROR ? 'warn' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    write(
      level,
      `"reqId":${JSON.stringify(scope.id)}${stringMember('path', scope.path)}${stringMember('entry', scope.entry)}` +
        `,"status":${status}${stringMember('operation', scope.operation)},"code":${JSON.stringify(code)}` +
        `,"errors":${scope.errors},"durationMs":${Math.round(ms * 10) / 10}` +
        `,"upstream":{"calls":${scope.upstreamCalls},"ms":${Math.round(scope.upstreamMs * 10) / 10}}` +
        `,"jobs":{"count":${scope.jobs},"polls":${scope.jobPolls},"waitMs":${scope.jobWaitMs}}` +
        `,"aborted":${aborted}`,
      'request',
    );
  };
}

/**
 * The HTTP application around the gateway. Every request takes one documented route:
 * - `/health`, `/ready`, `/metrics`: answered here;
 * - the job-callback path of ZSTACK_WEBHOOK_URL: answered here (it wakes a waiting mutation);
 * - `POST /graphql` with a JSON body asking for a JSON answer: the JSON POST entry
 *   (src/http/graphql-post.ts), yoga's envelop pipeline driven from node:http;
 * - `POST /graphql` asking for Apollo's multipart subscriptions (`multipart/mixed` with
 *   `subscriptionSpec`): the same entry, its answer written by src/http/graphql-multipart.ts;
 * - anything else at /graphql (GET queries, SSE subscriptions, the GraphiQL page and its assets):
 *   yoga's own handler, over the same envelop pipeline.
 * - a WebSocket upgrade of /graphql (`upgrade`): GraphQL over WebSocket (src/http/websocket.ts),
 *   over the same envelop pipeline, once the Origin and WS_MAX_SOCKETS allow it.
 * POSTs that are not JSON are refused (415), as are cross-origin requests from unlisted origins;
 * any other path, other spellings of /graphql included, is 404.
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
  const identifiedSessions = new IdentifiedSessions();
  const gateway = createGateway(config, {
    ...options.deps,
    // The tracing plugin after the scope's: the scope carries the operation's span.
    plugins: [createScopePlugin(onMasked), ...(options.tracer ? [options.tracer.plugin] : [])],
    ...upstreamObservers(logger, metrics, identifiedSessions),
    tracer: options.tracer?.upstream,
    logging: yogaLogger(logger),
    onFeedError: feedErrorLog(logger),
    onStreamCut: streamCutLog(logger),
    onRedisState: redisStateLog(logger),
    onRedisRejected: (reason) => metrics.onRedisRejected(reason),
  });
  const { yoga } = gateway;
  const post = createGraphQLPost({
    getEnveloped: (initial) => yoga.getEnveloped(initial as never) as never,
    persisted: gateway.persisted,
    onRefused: (req, error) => scopeOfRequest(req)?.noteErrors([error]),
    onThrown: (req, error) => onMasked(error, scopeOfRequest(req)),
    multipart: (req, res, source) =>
      writeMultipart(
        res,
        source,
        { timer: options.deps?.heartbeatTimer },
        {
          onErrors: (errors) => scopeOfRequest(req)?.noteErrors(errors),
          onThrown: (error) => onMasked(error, scopeOfRequest(req)),
        },
      ),
  });
  const cors: Cors = createCors({
    corsOrigins: config.corsOrigins,
    publicOrigins: config.publicOrigins,
    host: config.host,
  });
  const graphqlPath = yoga.graphqlEndpoint;
  const assetsPath = gateway.graphiqlAssetsPath;
  /**
   * The paths yoga serves: /graphql exactly, and GraphiQL's assets under their own prefix, spelled
   * plainly. yoga matches a URL it has normalized (`/x/../graphql`, `//graphql` and `/graphql/`
   * reach its GraphQL handler), so any other spelling is answered 404 here, before yoga sees it,
   * and cannot slip past the rules that check `path === graphqlPath` (the 415 for non-JSON POSTs).
   */
  const servedPath = (path: string) =>
    path === graphqlPath ||
    (assetsPath !== undefined && path.startsWith(assetsPath) && !/\/\.|\/\/|%|\\/.test(path));
  const hookPath = config.zstackWebhookUrl === undefined ? undefined : webhookPath(config.zstackWebhookUrl);
  const logRequest = requestLog(logger, metrics, identifiedSessions, graphqlPath);

  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let idleWaiters: (() => void)[] = [];

  function finished(res: ServerResponse) {
    inFlight.delete(res);
    if (inFlight.size === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** The response finished or its connection closed: one log line. */
  function responseEnded(this: ServerResponse & { [SCOPE]?: RequestScope }): void {
    const scope = this[SCOPE];
    if (scope === undefined || scope.ended) return;
    scope.ended = true;
    finished(this);
    logRequest(this.statusCode, !this.writableFinished, scope);
  }

  function serveGraphQL(req: IncomingMessage, res: ServerResponse, id: string, path: string): void {
    const scope = new RequestScope(id, sessionFromHeader(req.headers.authorization), path);
    attachScope(req, scope);
    inFlight.add(res);
    // The same listener function for every request (no closure per request). A response emits
    // 'close' once it finished, or when its connection closed first.
    (res as ServerResponse & { [SCOPE]?: RequestScope })[SCOPE] = scope;
    res.on('close', responseEnded);

    const origin = cors.verdict(req);
    if (origin === 'allowed' && req.method === 'OPTIONS') {
      scope.entry = 'cors-preflight';
      cors.preflight(req, res);
      return;
    }
    if (origin === 'allowed') cors.allow(req, res);
    const refusal = origin === 'refused' ? REFUSED_ORIGIN : refusalOf(req, path);
    if (refusal !== undefined) {
      scope.entry = 'refused';
      req.resume();
      refuse(res, scope, refusal);
      return;
    }
    const graphqlPost = req.method === 'POST' && path === graphqlPath;
    // Apollo's multipart subscriptions are ours (yoga serves subscriptions over SSE only).
    const media: Answer | 'stream' | undefined =
      graphqlPost && acceptsMultipartSubscription(req.headers.accept)
        ? { multipart: true, json: negotiateJson(req.headers.accept) }
        : graphqlPost
          ? negotiate(req.headers.accept)
          : 'stream';
    if (media === 'stream' || media === undefined) {
      scope.entry = 'yoga';
      void yoga(req, res);
      return;
    }
    scope.entry = typeof media === 'string' ? 'graphql-post' : 'multipart';
    readBody(req, config.maxBodyBytes).then(
      (body) => {
        if (body === undefined) refuse(res, scope, tooLarge);
        else return post.serve(req, res, body, media);
      },
      () => res.destroy(),
    );
  }

  const tooLarge: Refusal = {
    status: 413,
    message: `The request body is larger than ${config.maxBodyBytes} bytes.`,
    code: ErrorCode.PAYLOAD_TOO_LARGE,
    headers: { connection: 'close' },
  };

  /** What the HTTP layer refuses from the headers alone, before any body is read or GraphQL runs. */
  function refusalOf(req: IncomingMessage, path: string): Refusal | undefined {
    if (!servedPath(path)) return NOT_FOUND;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > config.maxBodyBytes) return tooLarge;
    if (req.method !== 'POST') return undefined;
    if (!isJsonContentType(req.headers['content-type'])) return NOT_JSON;
    if (negotiate(req.headers.accept) === undefined) return NOT_ACCEPTABLE;
    return undefined;
  }

  /**
   * A job callback: the body is read up to ZSTACK_WEBHOOK_MAX_BODY_BYTES and discarded (413 and the
   * connection closed past it); only a complete, valid callback wakes that job's poll (answerWebhook).
   */
  function serveWebhook(req: IncomingMessage, res: ServerResponse): void {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const limit = config.zstackWebhookMaxBodyBytes;
    const tooLargeHook = () => {
      res.writeHead(413, { connection: 'close' });
      res.end();
      // Whatever else the sender streams is not read: the connection goes once the 413 is out.
      res.once('finish', () => req.destroy());
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      tooLargeHook();
      return;
    }
    let size = 0;
    let over = false;
    req.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        req.pause();
        tooLargeHook();
      }
    });
    req.once('end', () => {
      if (over) return;
      const status = answerWebhook(req.method ?? 'GET', header, gateway);
      res.writeHead(status, status === 405 ? { allow: 'POST' } : {});
      res.end();
    });
  }

  async function serveReady(res: ServerResponse): Promise<void> {
    if (draining) {
      sendJson(res, 503, JSON.stringify({ status: 'draining' }));
      return;
    }
    const verdict = await readiness.check();
    const body = verdict.ready ? { status: 'ready' } : { status: 'unavailable', reason: verdict.reason };
    sendJson(res, verdict.ready ? 200 : 503, JSON.stringify(body));
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(body);
  }

  function serveProbe(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, JSON.stringify({ status: 'method not allowed' }), undefined, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/health') {
      sendJson(res, 200, JSON.stringify({ status: 'ok' }));
      return;
    }
    const served = path === '/ready' ? serveReady(res) : serveMetrics(res);
    served.catch(() => {
      if (!res.headersSent) sendJson(res, 500, JSON.stringify({ status: 'error' }));
      else res.destroy();
    });
  }

  const sockets = createWebSocketEntry({
    maxSockets: config.wsMaxSockets,
    maxOperationsPerSocket: config.wsMaxOperationsPerSocket,
    connectionInitTimeoutMs: config.wsConnectionInitTimeoutMs,
    pingIntervalMs: config.wsPingIntervalMs,
    maxMessageBytes: config.maxBodyBytes,
    maxBufferedBytes: config.streamMaxBufferedBytes,
    getEnveloped: (initial) => yoga.getEnveloped(initial as never) as never,
    persisted: gateway.persisted,
    // An operation over a socket: one line and its metrics, as a request (status 200: the socket's own is 101).
    onOperationEnd: (scope, aborted) => logRequest(200, aborted, scope),
    onInternalError: (error) => onMasked(error, undefined),
  });

  /** Refuses an upgrade on its raw socket (no response object exists) and closes it. */
  function refuseUpgrade(socket: Socket, status: number, reason: string, body: string): void {
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroySoon();
  }
  const refusalBody = (refusal: Refusal) =>
    serializeResult({
      errors: [new GraphQLError(refusal.message, { extensions: { code: refusal.code } })],
    });

  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = pathOf(req.url);
    if (path !== graphqlPath || config.wsMaxSockets === 0) {
      refuseUpgrade(socket, 404, 'Not Found', refusalBody(NOT_FOUND));
      return;
    }
    // A page of another site must not open a socket with its visitor's credentials (cross-site
    // WebSocket hijacking): browsers send Origin on every upgrade, and no CORS check applies to it.
    if (cors.verdict(req) === 'refused') {
      refuseUpgrade(socket, 403, 'Forbidden', refusalBody(REFUSED_ORIGIN));
      return;
    }
    if (draining) {
      refuseUpgrade(socket, 503, 'Service Unavailable', JSON.stringify({ status: 'draining' }));
      return;
    }
    if (!sockets.hasRoom()) {
      refuseUpgrade(
        socket,
        503,
        'Service Unavailable',
        serializeResult({
          errors: [
            new GraphQLError(
              `The gateway already serves ${config.wsMaxSockets} WebSockets (WS_MAX_SOCKETS): retry later.`,
              {
                extensions: {
                  code: ErrorCode.WEBSOCKET_LIMIT_EXCEEDED,
                  scope: 'sockets',
                  limit: config.wsMaxSockets,
                },
              },
            ),
          ],
        }),
      );
      return;
    }
    sockets.upgrade(req, socket, head, requestIdOf(req.headers['x-request-id']));
  };

  const metricsHere = config.metricsPort === undefined;
  const handler: RequestListener = (req, res) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    if (draining) res.setHeader('connection', 'close');
    const path = pathOf(req.url);
    if (path === '/health' || path === '/ready' || (path === '/metrics' && metricsHere))
      serveProbe(req, res, path);
    else if (path === hookPath) serveWebhook(req, res);
    else serveGraphQL(req, res, id, path);
  };

  const metricsHandler: RequestListener = (req, res) => {
    const path = pathOf(req.url);
    if (path === '/metrics') serveProbe(req, res, path);
    else sendJson(res, 404, JSON.stringify({ status: 'not found' }));
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
      // Responses still being computed close their connection when done, so keep-alive clients let go.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    endWorkAt(time) {
      gateway.client.endWorkAt?.(time);
    },
    idle() {
      const requests =
        inFlight.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
      return Promise.all([requests, sockets.idle()]).then(() => undefined);
    },
    closeSockets() {
      sockets.terminate();
    },
    async close() {
      sockets.close();
      await gateway.close();
      await readiness.close();
    },
  };
}
