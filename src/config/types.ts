/**
 * Gateway configuration, validated once at start; every unit is in the variable's name. After
 * loadConfig every default is filled: only a setting whose absence means something (no ZSTACK_URL =
 * the embedded simulator) is undefined, so nothing downstream defaults a setting again.
 */
export interface Config {
  /** ZStack base URL with its context path, e.g. http://zstack:8080/zstack; undefined = embedded simulator. */
  zstackUrl: string | undefined;
  port: number;
  host: string;
  /** One upstream HTTP call, body included. */
  zstackTimeoutMs: number;
  /** How long a mutation waits for its async job. */
  zstackJobTimeoutMs: number;
  /** The whole budget of one GraphQL operation: every upstream call and job wait in it. */
  operationTimeoutMs: number;
  /** IANA zone or ±HH:MM offset of ZStack's Java date strings; undefined = ask ZStack once. */
  zstackTimeZone: string | undefined;
  /**
   * Where ZStack can reach this gateway's job webhook (ZSTACK_WEBHOOK_URL, e.g.
   * http://gateway:4000/zstack-webhook/Xk3…): sent as X-Web-Hook on async writes, and its path is
   * served. Its path always holds a secret segment (one is appended when none is given). Undefined =
   * polling only.
   */
  zstackWebhookUrl: string | undefined;
  /** Compile repeated documents with graphql-jit (GRAPHQL_JIT, default true). */
  jit: boolean;
  production: boolean;
  logLevel: string;
  introspection: boolean;
  /**
   * Serve GraphiQL on GET /graphql (GRAPHIQL; default on, off when NODE_ENV=production). GRAPHIQL=true
   * on a runtime installed without @graphql-yoga/graphiql is a configuration error; the default just
   * serves no page there.
   */
  graphiql: boolean;
  /** How often live subscriptions poll ZStack for ticket changes (one query per session per interval). */
  ticketPollIntervalMs: number;
  /** Most open ticketUpdated streams one session may have (MAX_TICKET_SUBSCRIPTIONS_PER_SESSION). */
  maxTicketSubscriptionsPerSession: number;
  /**
   * Most open ticketUpdated streams in all (MAX_TICKET_SUBSCRIPTIONS); below MAX_CONNECTIONS (each
   * stream holds a connection), by default half of it.
   */
  maxTicketSubscriptions: number;
  /**
   * Most open ticketUpdated streams of one account, all its sessions together
   * (MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT), for sessions whose account the gateway knows (logged in
   * through it); 0 = no per-account cap.
   */
  maxTicketSubscriptionsPerAccount: number;
  /**
   * Most open ticketUpdated streams from one client address (MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT;
   * 0 = no per-address cap); below MAX_CONNECTIONS_PER_CLIENT.
   */
  maxTicketSubscriptionsPerClient: number;
  /**
   * A stream is cut (its connection closed) when an event is ready while more than this many bytes
   * of earlier events are still unsent to its client (STREAM_MAX_BUFFERED_BYTES), or when more than
   * MAX_QUEUED_EVENTS (1,000) events wait for it.
   */
  streamMaxBufferedBytes: number;
  /**
   * Most GraphQL-over-WebSocket sockets open at once (WS_MAX_SOCKETS; 0 = WebSocket off). Each holds
   * a connection that is never idle, so with MAX_TICKET_SUBSCRIPTIONS it stays below MAX_CONNECTIONS;
   * by default a quarter of MAX_CONNECTIONS.
   */
  wsMaxSockets: number;
  /** Most operations running at once on one WebSocket, subscriptions included (WS_MAX_OPERATIONS_PER_SOCKET). */
  wsMaxOperationsPerSocket: number;
  /** A WebSocket that sends no connection_init within this many ms is closed with 4408 (WS_CONNECTION_INIT_TIMEOUT_MS). */
  wsConnectionInitTimeoutMs: number;
  /**
   * A ping goes to every WebSocket this often; one that has not answered the previous ping is closed
   * (WS_PING_INTERVAL_MS; 0 = no pings).
   */
  wsPingIntervalMs: number;
  /** Largest job-callback body read; larger is HTTP 413 and the connection closes (ZSTACK_WEBHOOK_MAX_BODY_BYTES). */
  zstackWebhookMaxBodyBytes: number;
  /** A job callback wakes that job's poll at most once per this many ms (ZSTACK_WEBHOOK_WAKE_INTERVAL_MS). */
  zstackWebhookWakeIntervalMs: number;
  /**
   * Grace period for in-flight requests on SIGTERM/SIGINT (SHUTDOWN_GRACE_MS, default 8 s: with the
   * answer window it fits `docker stop`'s default 10 s).
   */
  shutdownGraceMs: number;
  /** Deepest selection nesting a document may have (GRAPHQL_MAX_DEPTH). */
  maxDepth: number;
  /** Most aliases one operation may use (GRAPHQL_MAX_ALIASES). */
  maxAliases: number;
  /** Most lexical tokens one document may have (GRAPHQL_MAX_TOKENS). */
  maxTokens: number;
  /** Highest graphql-armor cost one operation may have (GRAPHQL_MAX_COST). */
  maxCost: number;
  /**
   * Most values an operation's introspection may answer, counted from this schema's real sizes
   * (GRAPHQL_MAX_INTROSPECTION_VALUES): one full introspection query passes, two copies do not.
   */
  maxIntrospectionValues: number;
  /**
   * Most fields answering to one name in one selection set, fragments flattened
   * (GRAPHQL_MAX_FIELD_REPEATS): graphql-js compares every pair of them before any limit refuses.
   */
  maxFieldRepeats: number;
  /** Largest GraphQL document text, comments and whitespace included (GRAPHQL_MAX_DOCUMENT_BYTES). */
  maxDocumentBytes: number;
  /** Byte budget of the parsed-document cache (GRAPHQL_PARSE_CACHE_MAX_BYTES); 0 = no cache. */
  parseCacheMaxBytes: number;
  /** Byte budget of graphql-jit's compiled operations (GRAPHQL_JIT_CACHE_MAX_BYTES). */
  jitCacheMaxBytes: number;
  /** Documents longer than this are parsed, validated and run but never cached (GRAPHQL_CACHE_MAX_DOCUMENT_BYTES). */
  cacheMaxDocumentBytes: number;
  /** Most rows (list entries read from ZStack) one operation may fetch in total (MAX_ROWS_PER_OPERATION). */
  maxRowsPerOperation: number;
  /**
   * Most upstream calls one operation (or subscription event) may send, name lookups and writes
   * included, a write's job polls not (MAX_UPSTREAM_CALLS_PER_OPERATION).
   */
  maxUpstreamCallsPerOperation: number;
  /** Most distinct uuids one operation (or subscription event) may name with GetResourceNames (MAX_NAMED_UUIDS_PER_OPERATION). */
  maxNamedUuidsPerOperation: number;
  /** Most entries of one TicketRequest.resources list; the rest are cut with an error (MAX_RESOURCES_PER_REQUEST). */
  maxResourcesPerRequest: number;
  /** Deepest nesting of an input value: a variable's value or a literal, JSON scalars included (JSON_MAX_DEPTH). */
  jsonMaxDepth: number;
  /** Largest input value, each variable's value measured as JSON text (JSON_MAX_BYTES). */
  jsonMaxBytes: number;
  /** Largest request body accepted; larger is HTTP 413 (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Largest body the gateway sends ZStack in one call, as JSON text (ZSTACK_MAX_REQUEST_BYTES). */
  zstackMaxRequestBytes: number;
  /** Largest answer the gateway reads from one ZStack call; larger is discarded unread (ZSTACK_MAX_RESPONSE_BYTES). */
  zstackMaxResponseBytes: number;
  /** Most answer bytes one operation may read from ZStack, all its calls together (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION). */
  zstackMaxResponseBytesPerOperation: number;
  /** Largest shared-log entry or job message an instance accepts from Redis (REDIS_MAX_MESSAGE_BYTES). */
  redisMaxMessageBytes: number;
  /** How long /ready waits for ZStack's answer (READY_TIMEOUT_MS). */
  readyTimeoutMs: number;
  /** How long one /ready verdict is reused (READY_CACHE_MS). */
  readyCacheMs: number;
  /** A JSON manifest hash → document of persisted operations (PERSISTED_OPERATIONS_FILE); unset = none. */
  persistedOperationsFile?: string | undefined;
  /** Run only the manifest's operations, refusing documents sent as text (PERSISTED_OPERATIONS_ONLY). */
  persistedOperationsOnly: boolean;
  /**
   * Byte budget of this instance's automatic-persisted-query store, documents and their overhead
   * (APQ_CACHE_MAX_BYTES); 0 = automatic persisted queries off. Off as well with PERSISTED_OPERATIONS_ONLY.
   */
  apqCacheMaxBytes: number;
  /** How long a registered document stays in Redis after its last registration (APQ_REDIS_TTL_SECONDS). */
  apqRedisTtlSeconds: number;
  /** Most document bytes one instance writes to Redis per minute; past it registrations stay local (APQ_REDIS_MAX_BYTES_PER_MINUTE). */
  apqRedisMaxBytesPerMinute: number;
  /** Origins (scheme://host[:port]) whose web pages may call the gateway (CORS_ORIGINS); none by default. */
  corsOrigins: string[];
  /**
   * The gateway's own origins as browsers show them (PUBLIC_ORIGINS, e.g. https://gateway.example.com
   * behind a TLS proxy): a page there (GraphiQL) is same-origin. Empty = http on the listen port by
   * localhost, 127.0.0.1, [::1] or HOST when it is one IP address. Never taken from the Host header.
   */
  publicOrigins: string[];
  /** Most logIn attempts one client address (an IPv6 /64) may make per minute, successes included; 0 = none (LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE). */
  loginAttemptsPerClientPerMinute: number;
  /** Most failed logIn attempts per account name per minute, from any address; 0 = none (LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE). */
  loginFailuresPerAccountPerMinute: number;
  /**
   * Most client connections open at once (MAX_CONNECTIONS). At the cap the oldest idle keep-alive
   * connection is closed to make room; only when none is idle is a new connection closed at once.
   */
  maxConnections: number;
  /**
   * Most connections from one client address (MAX_CONNECTIONS_PER_CLIENT; 0 = no per-address cap).
   * Over it, that address's oldest idle connection is closed, else the new one. Behind a load
   * balancer every client has the balancer's address: raise it or set 0 there.
   */
  maxConnectionsPerClient: number;
  /** How long a client may take to send a request's headers (HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** How long a client may take to send a whole request, body included; not the answer (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Serve /metrics on this port instead of the main one (METRICS_PORT); undefined = on the main port. */
  metricsPort: number | undefined;
  /** How long the start-up check waits for ZStack before warning (STARTUP_CHECK_TIMEOUT_MS; 0 = no check). */
  startupCheckMs: number;
  /** Export OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set). */
  tracing: boolean;
  /**
   * Redis shared by every instance (REDIS_URL, redis:// or rediss://): pushes, job callbacks and the
   * live-update poll are shared through it. Undefined = this instance works alone.
   */
  redisUrl?: string | undefined;
  /**
   * The key of the HMAC that names a session in Redis (REDIS_KEY_SECRET), the same on every instance:
   * Redis never holds a session token, only HMAC(secret, token). Required with REDIS_URL.
   */
  redisKeySecret?: string | undefined;
  /** What every key and channel name in Redis starts with (REDIS_KEY_PREFIX). */
  redisKeyPrefix: string;
  /** One Redis command's limit; past it the instance acts alone for that step (REDIS_COMMAND_TIMEOUT_MS). */
  redisCommandTimeoutMs: number;
}
