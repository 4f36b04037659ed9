import type { IncomingMessage, ServerResponse } from 'node:http';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config/index.js';
import { maskError } from './errors.js';
import { NEVER_ABORTED } from './http/close-signal.js';
import { clientKey } from './http/connections.js';
import { loadGraphiQL } from './http/graphiql.js';
import { DEFAULT_QUERY } from './http/graphiql-query.js';
import { guardRequestParams } from './http/yoga-params.js';
import { type Cluster, createCluster, type RejectReason } from './live/cluster.js';
import type { FeedTimer } from './live/feed-schedule.js';
import type { StreamCaller, StreamSink } from './live/feed-stream.js';
import { createTicketFeed, type TicketFeed } from './live/ticket-feed.js';
import { type ApqStore, createApqStore } from './plugins/apq.js';
import { createDeferStreamPlugin } from './plugins/defer-stream.js';
import { createDocumentCaches } from './plugins/document-cache.js';
import { createJitPlugin, type JitOptions } from './plugins/jit.js';
import { createLimitPlugins } from './plugins/limits.js';
import { mergeHooks } from './plugins/merge-hooks.js';
import { createPersistedDocuments, type PersistedDocuments } from './plugins/persisted.js';
import { type Context, createContext, requestTag } from './request/context.js';
import { createLoginLimiter } from './request/login-limit.js';
import { createTimeZoneSource } from './request/time-zone.js';
import { schema } from './schema/index.js';
import type { CallerSignal } from './zstack/call-types.js';
import {
  createZStackClient,
  type JobEvent,
  type UpstreamCallEvent,
  type UpstreamTracer,
  type ZStackClient,
} from './zstack/client.js';

export interface GatewayDeps {
  /** An upstream client to use instead of creating one (tests). */
  client?: ZStackClient;
  /** Extra envelop plugins (the request scope); they run on both HTTP entries. */
  plugins?: Plugin[];
  /** The GraphiQL opening document; DEFAULT_QUERY when unset. */
  graphiqlQuery?: string;
  /** The package GraphiQL's page and assets come from (tests name one that is not installed). */
  graphiqlPackage?: string;
  /** Observes every upstream HTTP exchange of the client createGateway creates (metrics, logs). */
  onCall?: (e: UpstreamCallEvent) => void;
  /** Observes every job wait of the client createGateway creates. */
  onJob?: (e: JobEvent) => void;
  /** Observes every job-done notice passed to the client: a webhook callback here, or one relayed through Redis. */
  onJobNotice?: (jobUuid: string) => void;
  /** Traces the upstream calls and job waits of the client createGateway creates. */
  tracer?: UpstreamTracer;
  /** Where yoga's own log lines go; yoga's console logger when unset. */
  logging?: YogaLogger | boolean;
  /** The live feed's clock and timers (tests drive its polls by hand); real timers when unset. */
  feedTimer?: FeedTimer;
  /** A fault of the live feed (a failed poll, one ticket it could not serve): logged, never fatal. */
  onFeedError?: (err: unknown, what: string) => void;
  /** A ticketUpdated stream was cut because its client does not read (logged by the app). */
  onStreamCut?: (info: { bufferedBytes: number; queuedEvents: number }) => void;
  /**
   * Redis (REDIS_URL) became reachable or not (with the fault as an Error): called once per change,
   * whatever the fault (logged by the app).
   */
  onRedisState?: (up: boolean, err?: Error) => void;
  /** A Redis message or log entry failed its signature or shape check and was dropped (counted). */
  onRedisRejected?: (reason: RejectReason) => void;
  /**
   * Compiles with @envelop/graphql-jit instead of our jit plugin (GRAPHQL_JIT_PLUGIN=envelop, for the
   * bench's side-by-side row): src/plugins/jit-envelop.ts's createEnvelopJitPlugins. Unset: ours.
   */
  /** AbortController signals for upstream calls (ABORT_SIGNALS=abort-controller, the bench's A/B row). */
  abortControllers?: boolean;
  envelopJit?: (options: JitOptions) => { plugins: Plugin[]; cache: CacheUsage };
}

/** What a byte-bounded cache holds now. */
export interface CacheUsage {
  readonly maxBytes: number;
  readonly bytes: number;
  readonly size: number;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  client: ZStackClient;
  /** Persisted operations: the manifest (PERSISTED_OPERATIONS_FILE) and automatic persisted queries. */
  persisted: PersistedDocuments;
  /** The automatic-persisted-query store; undefined when APQ is off. */
  apq: ApqStore | undefined;
  /** Live ticket updates (ticketUpdated streams). */
  feed: TicketFeed;
  /** What this instance shares with the others through Redis; undefined without REDIS_URL. */
  cluster: Cluster | undefined;
  /**
   * ZStack called back for this job (an authentic or a forged callback alike): wakes this instance's
   * wait on it and, shared, the other instances' (each still polls ZStack for the real outcome).
   */
  notifyJobDone(jobUuid: string): void;
  /** Shutdown has begun: every open subscription ends now (SSE `complete`), new ones end at once. */
  drain(): void;
  /** The per-document caches, each bounded by bytes (their accounting, for tests and diagnostics). */
  caches: { documents: CacheUsage; jit: CacheUsage | undefined };
  /** Whether GET /graphql serves the GraphiQL page (GRAPHIQL=true and the package installed). */
  graphiql: boolean;
  /** Where GraphiQL's assets are served (a prefix), when the page is. */
  graphiqlAssetsPath: string | undefined;
  /** Disposes yoga and closes the upstream pool. */
  close(): Promise<void>;
}

/**
 * What either HTTP entry hands the pipeline: the node request (yoga's node adapter and the JSON
 * POST entry both put it there), and the caller's abort signal (yoga's Fetch request carries it).
 */
interface InitialContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  request?: Request;
  signal?: CallerSignal;
  /** Where a stream's events go when there is no response (a WebSocket: src/http/websocket.ts). */
  sink?: StreamSink;
}

/**
 * Who a request is from, for the per-address caps (streams, logins) and a stream's slow-reader bound;
 * worked out only when a resolver asks, since most requests never do. The sink of a response is its
 * unsent bytes (node counts the response's own buffer and its socket's) and a cut that closes the
 * connection, dropping what the client never read; a WebSocket brings its own.
 */
class RequestCaller implements StreamCaller {
  constructor(
    private readonly req: IncomingMessage | undefined,
    private readonly res: ServerResponse | undefined,
    private readonly socketSink: StreamSink | undefined,
  ) {}
  get address(): string | undefined {
    return this.req && clientKey(this.req.socket.remoteAddress);
  }
  get sink(): StreamSink | undefined {
    const res = this.res;
    if (res === undefined) return this.socketSink;
    return { buffered: () => res.writableLength, cut: () => res.destroy() };
  }
}

/** Builds the gateway for one ZStack; never listens and never reads process.env. */
export function createGateway(config: Config & { zstackUrl: string }, deps: GatewayDeps = {}): Gateway {
  const client =
    deps.client ??
    createZStackClient({
      baseUrl: config.zstackUrl,
      timeoutMs: config.zstackTimeoutMs,
      jobTimeoutMs: config.zstackJobTimeoutMs,
      webhookUrl: config.zstackWebhookUrl,
      webhookWakeIntervalMs: config.zstackWebhookWakeIntervalMs,
      maxRequestBytes: config.zstackMaxRequestBytes,
      maxResponseBytes: config.zstackMaxResponseBytes,
      onCall: deps.onCall,
      onJob: deps.onJob,
      tracer: deps.tracer,
      abortControllers: deps.abortControllers,
    });
  const timeZone = createTimeZoneSource(client, config.zstackTimeZone);
  const cluster =
    config.redisUrl !== undefined && config.redisKeySecret !== undefined
      ? createCluster({
          url: config.redisUrl,
          keySecret: config.redisKeySecret,
          prefix: config.redisKeyPrefix,
          commandTimeoutMs: config.redisCommandTimeoutMs,
          maxMessageBytes: config.redisMaxMessageBytes,
          onState: deps.onRedisState,
          onRejected: deps.onRedisRejected,
        })
      : undefined;
  const feed = createTicketFeed(client, {
    intervalMs: config.ticketPollIntervalMs,
    maxPerSession: config.maxTicketSubscriptionsPerSession,
    maxTotal: config.maxTicketSubscriptions,
    maxPerAccount: config.maxTicketSubscriptionsPerAccount,
    maxPerClient: config.maxTicketSubscriptionsPerClient,
    maxBufferedBytes: config.streamMaxBufferedBytes,
    onCut: deps.onStreamCut,
    timer: deps.feedTimer,
    onError: deps.onFeedError,
    share: cluster,
  });
  const jobNotice = (jobUuid: string) => {
    deps.onJobNotice?.(jobUuid);
    client.notifyJobDone(jobUuid);
  };
  cluster?.listen({
    entry: (entry) => feed.received(entry),
    catchUp: () => feed.catchUp(),
    job: jobNotice,
  });
  const logins = createLoginLimiter({
    attemptsPerClientPerMinute: config.loginAttemptsPerClientPerMinute,
    failuresPerAccountPerMinute: config.loginFailuresPerAccountPerMinute,
    redis: cluster?.redis,
    redisKeyPrefix: config.redisKeyPrefix,
  });
  const only = config.persistedOperationsOnly;
  // Off with PERSISTED_OPERATIONS_ONLY: then only the manifest's operations run.
  const apq =
    !only && config.apqCacheMaxBytes > 0
      ? createApqStore({
          maxBytes: config.apqCacheMaxBytes,
          maxDocumentBytes: config.maxDocumentBytes,
          redis: cluster?.redis,
          redisKeyPrefix: config.redisKeyPrefix,
          redisTtlSeconds: config.apqRedisTtlSeconds,
          redisMaxBytesPerMinute: config.apqRedisMaxBytesPerMinute,
        })
      : undefined;
  const persisted = createPersistedDocuments({ manifestPath: config.persistedOperationsFile, only, apq });
  // Order matters: limits code and refuse first, the request scope sees coded errors, the
  // validation cache after every plugin that adds a rule, jit last so its execute is the one that runs.
  // @defer/@stream first: its schema change and validation rules come before any cache or limit sees a document.
  // Our own plugins' parse, validate and execute hooks run as one plugin's, in this order (envelop
  // allocates per hook and request): src/plugins/merge-hooks.ts.
  const ours: Plugin[] = [...createLimitPlugins(config), ...(deps.plugins ?? []), persisted.plugin];
  if (!config.introspection) {
    ours.push({
      onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
    });
  }
  // Our jit plugin is one of the merged parts; @envelop/graphql-jit (the bench's A/B switch) stays as
  // it comes, last.
  let ourJit: ReturnType<typeof createJitPlugin> | undefined;
  let envelopJit: Plugin[] = [];
  let jitCache: CacheUsage | undefined;
  if (config.jit) {
    const jitOptions = { maxBytes: config.jitCacheMaxBytes, maxDocumentBytes: config.cacheMaxDocumentBytes };
    if (deps.envelopJit !== undefined)
      ({ plugins: envelopJit, cache: jitCache } = deps.envelopJit(jitOptions));
    else {
      ourJit = createJitPlugin(jitOptions);
      jitCache = ourJit.cache;
    }
  }
  const documentCaches = createDocumentCaches({
    maxBytes: config.parseCacheMaxBytes,
    maxDocumentBytes: config.cacheMaxDocumentBytes,
  });
  ours.push(documentCaches.validation);
  if (ourJit !== undefined) ours.push(ourJit);
  const plugins: Plugin[] = [
    createDeferStreamPlugin(),
    guardRequestParams(),
    ...mergeHooks(ours),
    ...envelopJit,
  ];
  // GRAPHIQL=false, or a runtime installed without the optional package: no page, no assets.
  const graphiql = config.graphiql ? loadGraphiQL(deps.graphiqlPackage) : undefined;

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maskedErrors: { maskError },
    logging: deps.logging ?? true,
    // The HTTP layer owns CORS (an allow-list) and the body limit for both entries.
    cors: false,
    maxRequestBodySize: config.maxBodyBytes,
    // Bounded by bytes, parse errors never cached (src/plugins/document-cache.ts).
    parserAndValidationCache: documentCaches.options,
    ...(graphiql === undefined
      ? { graphiql: false }
      : {
          renderGraphiQL: graphiql.render,
          graphiql: {
            title: 'ZStack GraphQL',
            defaultQuery: deps.graphiqlQuery ?? DEFAULT_QUERY,
            headers: JSON.stringify({ Authorization: 'OAuth <session uuid from logIn>' }, null, 2),
          },
        }),
    plugins: graphiql === undefined ? plugins : [graphiql.plugin(), ...plugins],
    context: (initial) => {
      const { req, res, request, signal, sink } = initial as InitialContext;
      return createContext({
        caller: new RequestCaller(req, res, sink),
        authorization: req?.headers.authorization ?? request?.headers.get('authorization'),
        signal: signal ?? request?.signal ?? NEVER_ABORTED,
        client,
        timeZone,
        feed,
        operationTimeoutMs: config.operationTimeoutMs,
        maxRows: config.maxRowsPerOperation,
        maxUpstreamCalls: config.maxUpstreamCallsPerOperation,
        maxNamedUuids: config.maxNamedUuidsPerOperation,
        maxResourcesPerRequest: config.maxResourcesPerRequest,
        maxRequestBytes: config.zstackMaxRequestBytes,
        maxResponseBytes: config.zstackMaxResponseBytesPerOperation,
        logins,
        scope: requestTag(req),
      });
    },
  });

  return {
    yoga,
    client,
    persisted,
    apq,
    feed,
    cluster,
    notifyJobDone(jobUuid) {
      jobNotice(jobUuid);
      cluster?.publishJob(jobUuid);
    },
    drain() {
      feed.drain();
    },
    caches: { documents: documentCaches.documents, jit: jitCache },
    graphiql: graphiql !== undefined,
    graphiqlAssetsPath: graphiql?.assetsPath,
    async close() {
      feed.close();
      await cluster?.close();
      await yoga.dispose();
      await client.close();
    },
  };
}
