import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import type { Plugin, YogaLogger } from 'graphql-yoga';
import type { Config } from './config.js';
import { REQUEST_TAG, requestTag, sessionFromHeader } from './context.js';
import { createFastPath, type FastPath } from './fast-path.js';
import { createGateway, type Gateway, type GatewayDeps } from './gateway.js';
import { createReadiness, type Readiness } from './http/health.js';
import { answerWebhook, webhookPath } from './http/webhook.js';
import { createLogger, type Logger, scrub, scrubUuids } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { LimitCode } from './plugins/limits.js';
import type { JobEvent, UpstreamCallEvent } from './zstack/client.js';
import { ZStackError } from './zstack/errors.js';

/**
 * What one HTTP request accumulates for its log line and metrics. It rides on the node request
 * (REQUEST_TAG) into the GraphQL context and from there on every upstream call's events, so no
 * AsyncLocalStorage is needed (on Node 20 it taxes every promise of every request).
 */
class RequestScope {
  operation: string | undefined = undefined;
  /** The first `extensions.code` of the response, if any. */
  code: string | undefined = undefined;
  errors = 0;
  upstreamCalls = 0;
  upstreamMs = 0;
  jobs = 0;
  jobPolls = 0;
  jobWaitMs = 0;
  constructor(
    readonly id: string,
    readonly session: string | undefined,
  ) {}
}

function scopeOf(tag: unknown): RequestScope | undefined {
  return tag instanceof RequestScope ? tag : undefined;
}

/** The scope of the node request in a yoga server context. */
function scopeIn(serverContext: unknown): RequestScope | undefined {
  return scopeOf(requestTag((serverContext as { req?: unknown } | undefined)?.req));
}

export interface AppOptions {
  /** Where log lines go; a pino logger at `config.logLevel` on stdout when unset. */
  logger?: Logger;
  metrics?: Metrics;
  /**
   * Serve plain JSON POSTs to /graphql without yoga's Fetch-API layer (default true); false sends
   * every request through yoga's handler (to compare the two).
   */
  fastPath?: boolean;
  /** Passed to createGateway; the observability hooks are added to it. */
  deps?: Omit<GatewayDeps, 'onCall' | 'onJob' | 'onMaskedError' | 'logging'>;
}

export interface App {
  gateway: Gateway;
  /** The node request listener: /health, /ready, /metrics, the body limit, then the fast path or yoga. */
  handler: RequestListener;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  /** GraphQL requests whose response has not finished yet. */
  readonly inFlight: number;
  /** Shutdown has begun: /ready answers 503 and every response from now on closes its connection. */
  drain(): void;
  /** Resolves once no GraphQL request is in flight. */
  idle(): Promise<void>;
  /** gateway.close() and the readiness pool. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function tooLarge(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): void {
  sendJson(
    res,
    413,
    {
      errors: [
        {
          message: `The request body is larger than ${maxBodyBytes} bytes.`,
          extensions: { code: LimitCode.PAYLOAD_TOO_LARGE },
        },
      ],
    },
    { connection: 'close' },
  );
  // Discard what the client is still sending until the connection closes, so it can read the 413.
  req.resume();
}

/** Reads a body of unknown length, giving up as soon as it passes the limit. */
function readLimited(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.off('end', onEnd);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    // Small bodies arrive in one chunk: no copy then.
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/** A ZStack failure as the client reports it, bare or wrapped in a GraphQLError. */
function isUpstreamError(value: unknown): boolean {
  return (
    value instanceof ZStackError ||
    (value instanceof GraphQLError && value.originalError instanceof ZStackError)
  );
}

function codeOf(result: ExecutionResult): string | undefined {
  const code = result.errors?.[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

function noteResult(scope: RequestScope, result: ExecutionResult): void {
  scope.errors += result.errors?.length ?? 0;
  scope.code ??= codeOf(result);
}

/**
 * The HTTP application around the gateway: request ids, one log line and the metrics per request,
 * /health, /ready and /metrics, and a body size limit that costs one header read on the common path.
 * Plain JSON POSTs to /graphql take the fast path (src/fast-path.ts); everything else goes to yoga.
 */
export function createApp(config: Config & { zstackUrl: string }, options: AppOptions = {}): App {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = options.metrics ?? createMetrics();
  const readiness = createReadiness({
    zstackUrl: config.zstackUrl,
    timeoutMs: config.readyTimeoutMs,
    cacheMs: config.readyCacheMs,
  });

  const onCall = (e: UpstreamCallEvent) => {
    metrics.onCall(e);
    const scope = scopeOf(e.tag);
    if (scope) {
      scope.upstreamCalls++;
      scope.upstreamMs += e.durationMs;
    }
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { reqId: scope?.id, method: e.method, route: e.route, status: e.status, durationMs: e.durationMs },
        'upstream call',
      );
    }
  };
  const onJob = (e: JobEvent) => {
    metrics.onJob(e);
    const scope = scopeOf(e.tag);
    if (scope) {
      scope.jobs++;
      scope.jobPolls += e.polls;
      scope.jobWaitMs += e.waitMs;
    }
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          reqId: scope?.id,
          jobUuid: e.jobUuid,
          route: e.route,
          polls: e.polls,
          waitMs: e.waitMs,
          outcome: e.outcome,
        },
        'job wait',
      );
    }
  };
  const onMaskedError = (error: unknown, tag: unknown) => {
    const scope = scopeOf(tag);
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
  const yogaLog = logger.child({ component: 'yoga' });
  // yoga's own lines come with no request to tell whose session to remove: every uuid goes.
  const text = (args: unknown[]) =>
    scrubUuids(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
  const logging: YogaLogger = {
    debug: (...args) => {
      if (yogaLog.isLevelEnabled('debug')) yogaLog.debug(text(args));
    },
    info: (...args) => yogaLog.info(text(args)),
    warn: (...args) => yogaLog.warn(text(args)),
    error: (...args) => {
      // yoga logs every error its masking replaces, upstream ones too; those reached the caller
      // with their code (an expired session is no fault of the gateway), so they are debug lines.
      if (args.length === 1 && isUpstreamError(args[0])) {
        if (yogaLog.isLevelEnabled('debug')) yogaLog.debug(text(args));
        return;
      }
      yogaLog.error(text(args));
    },
  };

  const observe: Plugin = {
    onParams({ params, context }) {
      const scope = scopeIn(context);
      if (scope && typeof params.operationName === 'string') scope.operation = params.operationName;
    },
    onValidate({ params, context }) {
      const scope = scopeIn(context);
      if (scope) scope.operation = getOperationAST(params.documentAST, scope.operation)?.name?.value;
    },
    onResultProcess({ result, serverContext }) {
      const scope = scopeIn(serverContext);
      if (!scope) return;
      const results = Array.isArray(result) ? result : Symbol.asyncIterator in result ? [] : [result];
      for (const r of results) noteResult(scope, r);
    },
  };

  const gateway = createGateway(config, {
    // A prepared operation skips yoga's per-request hooks: only this module's `observe` is known
    // to be covered (the fast path reports the operation and result itself).
    preparedOperations: (options.deps?.plugins?.length ?? 0) === 0,
    ...options.deps,
    plugins: [observe, ...(options.deps?.plugins ?? [])],
    onCall,
    onJob,
    onMaskedError,
    logging,
  });
  const { yoga } = gateway;
  const fast = options.fastPath === false ? undefined : createFastPath(gateway);
  const graphqlPath = yoga.graphqlEndpoint;
  // ZStack's job callbacks are answered here, ahead of yoga (its plugin serves yoga-only use):
  // each one wakes a waiting mutation, so it must not queue behind the Fetch-API layer.
  const hookPath = config.zstackWebhookUrl === undefined ? undefined : webhookPath(config.zstackWebhookUrl);

  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let idleWaiters: (() => void)[] = [];

  function finished(res: ServerResponse, scope: RequestScope, started: number, path: string) {
    inFlight.delete(res);
    const ms = performance.now() - started;
    const status = res.statusCode;
    const code = scope.code ?? (status >= 400 ? `HTTP_${status}` : 'OK');
    metrics.observeRequest(scope.operation, code, ms / 1000);
    const level = status >= 500 || code === 'INTERNAL_SERVER_ERROR' ? 'warn' : 'info';
    // Most production configs log at warn: a successful request then builds no line at all.
    if (logger.isLevelEnabled(level)) logLine(level, res, scope, path, status, code, ms);
    if (inFlight.size === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function logLine(
    level: 'warn' | 'info',
    res: ServerResponse,
    scope: RequestScope,
    path: string,
    status: number,
    code: string,
    ms: number,
  ): void {
    const line = {
      reqId: scope.id,
      path,
      status,
      operation: scope.operation,
      code,
      errors: scope.errors,
      durationMs: Math.round(ms * 10) / 10,
      upstream: { calls: scope.upstreamCalls, ms: Math.round(scope.upstreamMs * 10) / 10 },
      jobs: { count: scope.jobs, polls: scope.jobPolls, waitMs: scope.jobWaitMs },
      aborted: !res.writableFinished,
    };
    logger[level](line, 'request');
  }

  /** yoga on a request whose body has already been read. */
  function yogaWithBody(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    // whatwg-node takes a non-empty `body` on the request as already read (as after a body parser).
    if (body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = body;
    void yoga(req, res);
  }

  function serveFast(
    fast: FastPath,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    mediaType: string,
    scope: RequestScope,
  ): void {
    const served = fast.serve(req, res, body, mediaType, {
      onOperation: (name) => {
        scope.operation = name;
      },
      onResult: (result) => noteResult(scope, result),
    });
    if (served === false) {
      yogaWithBody(req, res, body);
      return;
    }
    served.then(
      (done) => {
        if (!done) yogaWithBody(req, res, body);
      },
      () => res.destroy(),
    );
  }

  function serveGraphQL(req: IncomingMessage, res: ServerResponse, id: string, path: string): void {
    const started = performance.now();
    const scope = new RequestScope(id, sessionFromHeader(req.headers.authorization));
    (req as IncomingMessage & { [REQUEST_TAG]?: unknown })[REQUEST_TAG] = scope;
    inFlight.add(res);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      finished(res, scope, started, path);
    };
    res.once('finish', end);
    res.once('close', end);

    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > config.maxBodyBytes) {
        scope.code = LimitCode.PAYLOAD_TOO_LARGE;
        tooLarge(req, res, config.maxBodyBytes);
        return;
      }
    }
    const mediaType =
      fast !== undefined && req.method === 'POST' && path === graphqlPath && declared !== '0'
        ? fast.accepts(req)
        : undefined;
    if (fast !== undefined && mediaType !== undefined) {
      readLimited(req, config.maxBodyBytes).then(
        (body) => {
          if (body === undefined) {
            scope.code = LimitCode.PAYLOAD_TOO_LARGE;
            tooLarge(req, res, config.maxBodyBytes);
            return;
          }
          serveFast(fast, req, res, body, mediaType, scope);
        },
        () => res.destroy(),
      );
      return;
    }
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined) {
      readLimited(req, config.maxBodyBytes).then(
        (body) => {
          if (body === undefined) {
            scope.code = LimitCode.PAYLOAD_TOO_LARGE;
            tooLarge(req, res, config.maxBodyBytes);
            return;
          }
          yogaWithBody(req, res, body);
        },
        () => res.destroy(),
      );
      return;
    }
    void yoga(req, res);
  }

  /** A job callback: wakes that job's poll at once (answerWebhook), then answers once the body is read. */
  function serveWebhook(req: IncomingMessage, res: ServerResponse): void {
    const status = answerWebhook(
      req.method ?? 'GET',
      (name) => headerText(req.headers[name]),
      gateway.client,
    );
    req.on('error', () => res.destroy());
    // The body carries nothing we use; it is read to the end so the connection can be reused.
    req.once('end', () => {
      res.writeHead(status, status === 405 ? { allow: 'POST' } : {});
      res.end();
    });
    req.resume();
  }

  async function serveReady(res: ServerResponse): Promise<void> {
    if (draining) return sendJson(res, 503, { status: 'draining' });
    const verdict = await readiness.check();
    if (verdict.ready) return sendJson(res, 200, { status: 'ready' });
    sendJson(res, 503, { status: 'unavailable', reason: verdict.reason });
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(body);
  }

  const handler: RequestListener = (req, res) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    if (draining) res.setHeader('connection', 'close');
    const path = pathOf(req.url);
    if (path === '/health' || path === '/ready' || path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendJson(res, 405, { status: 'method not allowed' }, { allow: 'GET, HEAD' });
      }
      if (path === '/health') return sendJson(res, 200, { status: 'ok' });
      const served = path === '/ready' ? serveReady(res) : serveMetrics(res);
      served.catch(() => {
        if (!res.headersSent) sendJson(res, 500, { status: 'error' });
        else res.destroy();
      });
      return;
    }
    if (path === hookPath) return serveWebhook(req, res);
    serveGraphQL(req, res, id, path);
  };

  return {
    gateway,
    handler,
    logger,
    metrics,
    readiness,
    get inFlight() {
      return inFlight.size;
    },
    drain() {
      draining = true;
      // Responses still being computed close their connection when done, so keep-alive clients let go.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    idle() {
      if (inFlight.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      await gateway.close();
      await readiness.close();
    },
  };
}
