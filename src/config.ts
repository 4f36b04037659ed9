import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { getHeapStatistics } from 'node:v8';
import { redactCredentials } from './observability/redact.js';

/** Gateway configuration, validated once at start; every unit is in the variable's name. */
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
  persistedOperationsOnly?: boolean;
  /**
   * Byte budget of this instance's automatic-persisted-query store, documents and their overhead
   * (APQ_CACHE_MAX_BYTES); 0 = automatic persisted queries off. Off as well with PERSISTED_OPERATIONS_ONLY.
   */
  apqCacheMaxBytes?: number;
  /** How long a registered document stays in Redis after its last registration (APQ_REDIS_TTL_SECONDS). */
  apqRedisTtlSeconds?: number;
  /** Most document bytes one instance writes to Redis per minute; past it registrations stay local (APQ_REDIS_MAX_BYTES_PER_MINUTE). */
  apqRedisMaxBytesPerMinute?: number;
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
  redisKeyPrefix?: string;
  /** One Redis command's limit; past it the instance acts alone for that step (REDIS_COMMAND_TIMEOUT_MS). */
  redisCommandTimeoutMs?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  /**
   * Every problem found, one sentence each, naming the variable and its value as typed, except for
   * URL credentials (`http://admin:[redacted]@…`): these sentences reach logs and terminals.
   */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = (typeof problems === 'string' ? [problems] : problems).map(redactCredentials);
    super(list.join('; '));
    this.problems = list;
  }
}

type Env = Record<string, string | undefined>;

/** Collects every problem of one environment, so an operator fixes them all in one round. */
class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

function intVar(env: Env, p: Problems, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    p.add(`${name} must be a whole number, got "${raw}"`);
    return fallback;
  }
  const value = Number(raw);
  if (value < min || value > max) {
    p.add(`${name} must be between ${min} and ${max}, got "${raw}"`);
    return fallback;
  }
  return value;
}

function boolVar(env: Env, p: Problems, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  p.add(`${name} must be true or false, got "${env[name]}"`);
  return fallback;
}

function urlVar(env: Env, p: Problems, name: string, example: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  // `zstack:8080` parses as a URL whose scheme is "zstack:": say what was typed, not what parsed.
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    p.add(`${name} must be an absolute http(s) URL like ${example}, got "${env[name]}"`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    p.add(`${name} must not carry a query, fragment or credentials, got "${env[name]}"`);
    return undefined;
  }
  return url.toString().replace(/\/+$/, '');
}

function timeZoneVar(env: Env, p: Problems, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (/^[+-]\d{2}:\d{2}$/.test(raw)) return raw;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    p.add(
      `${name} must be an IANA time zone (e.g. Asia/Shanghai) or an offset like +08:00, got "${env[name]}"`,
    );
    return undefined;
  }
  return raw;
}

/** 24 URL-safe random characters (144 bits), with a digit so that isSecretSegment accepts it. */
function randomSecret(): string {
  for (;;) {
    const s = randomBytes(18).toString('base64url');
    if (isSecretSegment(s)) return s;
  }
}

/**
 * After the grace period (SHUTDOWN_GRACE_MS), how long the answers of requests stopped at its end get
 * to be written. The default grace plus this fits `docker stop`'s 10 s with a second to spare for
 * closing the pool and writing the last log lines.
 */
export const SHUTDOWN_ANSWER_WINDOW_MS = 1000;

const requireHere = createRequire(import.meta.url);

/** Whether the optional @graphql-yoga/graphiql package is installed (npm ci --omit=optional leaves it out). */
function graphiqlPackageInstalled(): boolean {
  try {
    requireHere.resolve('@graphql-yoga/graphiql/package.json');
    return true;
  } catch {
    return false;
  }
}

/**
 * GRAPHIQL: on by default outside production. Asked for explicitly on a runtime without its optional
 * package, it is a configuration error (otherwise the page would silently not be served); the default
 * quietly serves no page there.
 */
function graphiqlVar(env: Env, p: Problems, production: boolean, installed: () => boolean): boolean {
  const on = boolVar(env, p, 'GRAPHIQL', !production);
  const explicit = env.GRAPHIQL !== undefined && env.GRAPHIQL.trim() !== '';
  if (on && explicit && !installed()) {
    p.add(
      `GRAPHIQL is "${env.GRAPHIQL}" but its optional package @graphql-yoga/graphiql is not installed (install without --omit=optional, or build the image with --build-arg GRAPHIQL=true)`,
    );
    return false;
  }
  return on;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads and validates the environment. Throws one ConfigError listing every problem (each names
 * its variable and the value as typed), never just the first.
 */
export function loadConfig(
  env: Env,
  secret: () => string = randomSecret,
  heapLimitBytes: number = getHeapStatistics().heap_size_limit,
  options: { graphiqlInstalled?: () => boolean } = {},
): Config {
  const p = new Problems();
  const production = env.NODE_ENV === 'production';
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    p.add(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const host = env.HOST?.trim() || (production ? '0.0.0.0' : '127.0.0.1');
  const port = intVar(env, p, 'PORT', 4000, 0, 65535);
  const metricsPort = optionalPort(env, p, 'METRICS_PORT');
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    p.add(`METRICS_PORT must differ from PORT, got "${env.METRICS_PORT}"`);
  }
  const zstackUrl = urlVar(env, p, 'ZSTACK_URL', 'http://zstack:8080/zstack');
  // Reported with every other problem, so an operator fixes them all in one restart.
  if (production && !env.ZSTACK_URL?.trim()) {
    p.add('ZSTACK_URL is required when NODE_ENV=production (the embedded simulator is for demos only)');
  }
  const config: Config = {
    zstackUrl,
    port,
    host,
    zstackTimeoutMs: intVar(env, p, 'ZSTACK_TIMEOUT_MS', 15_000, 1, 600_000),
    zstackJobTimeoutMs: intVar(env, p, 'ZSTACK_JOB_TIMEOUT_MS', 60_000, 1, 3 * 3600_000),
    operationTimeoutMs: intVar(env, p, 'OPERATION_TIMEOUT_MS', 90_000, 1, 3 * 3600_000),
    zstackTimeZone: timeZoneVar(env, p, 'ZSTACK_TIME_ZONE'),
    zstackWebhookUrl: webhookUrlVar(env, p, secret),
    production,
    logLevel: LOG_LEVELS.includes(logLevel) ? logLevel : 'info',
    introspection: boolVar(env, p, 'GRAPHQL_INTROSPECTION', true),
    graphiql: graphiqlVar(env, p, production, options.graphiqlInstalled ?? graphiqlPackageInstalled),
    jit: boolVar(env, p, 'GRAPHQL_JIT', true),
    ticketPollIntervalMs: intVar(env, p, 'TICKET_POLL_INTERVAL_MS', 5_000, 50, 3_600_000),
    maxTicketSubscriptionsPerSession: intVar(env, p, 'MAX_TICKET_SUBSCRIPTIONS_PER_SESSION', 100, 1, 100_000),
    ...streamVars(env, p),
    ...webSocketVars(env, p),
    zstackWebhookMaxBodyBytes: intVar(
      env,
      p,
      'ZSTACK_WEBHOOK_MAX_BODY_BYTES',
      64 * 1024,
      0,
      16 * 1024 * 1024,
    ),
    zstackWebhookWakeIntervalMs: intVar(env, p, 'ZSTACK_WEBHOOK_WAKE_INTERVAL_MS', 250, 0, 60_000),
    shutdownGraceMs: intVar(env, p, 'SHUTDOWN_GRACE_MS', 8_000, 0, 600_000),
    maxDepth: intVar(env, p, 'GRAPHQL_MAX_DEPTH', 15, 1, 1000),
    maxAliases: intVar(env, p, 'GRAPHQL_MAX_ALIASES', 50, 0, 100_000),
    maxTokens: intVar(env, p, 'GRAPHQL_MAX_TOKENS', 2000, 1, 10_000_000),
    maxCost: intVar(env, p, 'GRAPHQL_MAX_COST', 500_000, 1, 1_000_000_000),
    maxIntrospectionValues: intVar(env, p, 'GRAPHQL_MAX_INTROSPECTION_VALUES', 8000, 1, 100_000_000),
    maxFieldRepeats: intVar(env, p, 'GRAPHQL_MAX_FIELD_REPEATS', 100, 1, 1_000_000),
    maxDocumentBytes: intVar(env, p, 'GRAPHQL_MAX_DOCUMENT_BYTES', 64 * 1024, 1, 1024 * 1024 * 1024),
    parseCacheMaxBytes: intVar(
      env,
      p,
      'GRAPHQL_PARSE_CACHE_MAX_BYTES',
      32 * 1024 * 1024,
      0,
      1024 * 1024 * 1024,
    ),
    jitCacheMaxBytes: intVar(env, p, 'GRAPHQL_JIT_CACHE_MAX_BYTES', 64 * 1024 * 1024, 0, 1024 * 1024 * 1024),
    cacheMaxDocumentBytes: intVar(
      env,
      p,
      'GRAPHQL_CACHE_MAX_DOCUMENT_BYTES',
      32 * 1024,
      0,
      1024 * 1024 * 1024,
    ),
    maxRowsPerOperation: intVar(env, p, 'MAX_ROWS_PER_OPERATION', 10_000, 1, 10_000_000),
    maxUpstreamCallsPerOperation: intVar(env, p, 'MAX_UPSTREAM_CALLS_PER_OPERATION', 100, 1, 100_000),
    maxNamedUuidsPerOperation: intVar(env, p, 'MAX_NAMED_UUIDS_PER_OPERATION', 1000, 0, 1_000_000),
    maxResourcesPerRequest: intVar(env, p, 'MAX_RESOURCES_PER_REQUEST', 100, 1, 10_000),
    loginAttemptsPerClientPerMinute: intVar(env, p, 'LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE', 60, 0, 1_000_000),
    loginFailuresPerAccountPerMinute: intVar(
      env,
      p,
      'LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE',
      10,
      0,
      1_000_000,
    ),
    jsonMaxDepth: intVar(env, p, 'JSON_MAX_DEPTH', 64, 1, 10_000),
    jsonMaxBytes: intVar(env, p, 'JSON_MAX_BYTES', 256 * 1024, 1, 1024 * 1024 * 1024),
    maxBodyBytes: intVar(env, p, 'MAX_BODY_BYTES', 1024 * 1024, 1, 1024 * 1024 * 1024),
    readyTimeoutMs: intVar(env, p, 'READY_TIMEOUT_MS', 1000, 1, 60_000),
    readyCacheMs: intVar(env, p, 'READY_CACHE_MS', 1000, 0, 60_000),
    startupCheckMs: intVar(env, p, 'STARTUP_CHECK_TIMEOUT_MS', 3000, 0, 60_000),
    metricsPort,
    tracing: tracingVars(env, p),
    ...persistedOperationsVars(env, p),
    apqCacheMaxBytes: intVar(env, p, 'APQ_CACHE_MAX_BYTES', 8 * 1024 * 1024, 0, 1024 * 1024 * 1024),
    // One hour × 1 MiB a minute: at most 60 MiB of documents in Redis per instance, whatever clients send.
    apqRedisTtlSeconds: intVar(env, p, 'APQ_REDIS_TTL_SECONDS', 3600, 1, 365 * 86_400),
    apqRedisMaxBytesPerMinute: intVar(
      env,
      p,
      'APQ_REDIS_MAX_BYTES_PER_MINUTE',
      1024 * 1024,
      0,
      1024 * 1024 * 1024,
    ),
    corsOrigins: originsVar(env, p, 'CORS_ORIGINS'),
    publicOrigins: originsVar(env, p, 'PUBLIC_ORIGINS'),
    ...connectionVars(env, p),
    ...redisVars(env, p),
    ...byteLimitVars(env, p),
  };
  heapRoom(p, config, heapLimitBytes);
  if (p.list.length > 0) throw new ConfigError(p.list);
  return config;
}

/** What the process needs beside its caches: the schema, code, requests in flight, subscriptions. */
const HEAP_RESERVE_BYTES = 64 * 1024 * 1024;

/**
 * The caches may fill to their byte limits; the V8 heap limit (--max-old-space-size, e.g. through
 * NODE_OPTIONS) must hold them and the rest, or a full cache ends the process out of memory.
 */
function heapRoom(p: Problems, config: Config, heapLimitBytes: number): void {
  const caches = config.parseCacheMaxBytes + config.jitCacheMaxBytes + (config.apqCacheMaxBytes ?? 0);
  if (caches + HEAP_RESERVE_BYTES <= heapLimitBytes) return;
  const mib = (n: number) => Math.round(n / (1024 * 1024));
  p.add(
    `GRAPHQL_PARSE_CACHE_MAX_BYTES + GRAPHQL_JIT_CACHE_MAX_BYTES + APQ_CACHE_MAX_BYTES (${mib(caches)} MiB) leave less than ${mib(HEAP_RESERVE_BYTES)} MiB of the V8 heap limit (${mib(heapLimitBytes)} MiB): lower them, or raise the limit (NODE_OPTIONS=--max-old-space-size=<MiB>)`,
  );
}

function redisVars(
  env: Env,
  p: Problems,
): Pick<Config, 'redisUrl' | 'redisKeySecret' | 'redisKeyPrefix' | 'redisCommandTimeoutMs'> {
  const raw = env.REDIS_URL?.trim() || undefined;
  const secret = env.REDIS_KEY_SECRET || undefined;
  const prefix = env.REDIS_KEY_PREFIX?.trim() || 'zstack-graphql:';
  const commandTimeoutMs = intVar(env, p, 'REDIS_COMMAND_TIMEOUT_MS', 1000, 10, 60_000);
  if (raw === undefined) {
    return {
      redisUrl: undefined,
      redisKeySecret: undefined,
      redisKeyPrefix: prefix,
      redisCommandTimeoutMs: commandTimeoutMs,
    };
  }
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    p.add(`REDIS_URL must be a redis:// or rediss:// URL, got "${env.REDIS_URL}"`);
  }
  // Every instance must name a session alike, and whoever reads Redis must not be able to: a shared
  // secret the operator sets, never one made up here (each instance would make up another).
  if (secret === undefined) p.add('REDIS_URL needs REDIS_KEY_SECRET (the same on every instance)');
  else if (secret.length < 32) p.add('REDIS_KEY_SECRET must be at least 32 characters');
  if (!/^[\w:.-]{1,64}$/.test(prefix)) {
    p.add(`REDIS_KEY_PREFIX must be 1 to 64 characters of [A-Za-z0-9_:.-], got "${env.REDIS_KEY_PREFIX}"`);
  }
  return {
    redisUrl: raw,
    redisKeySecret: secret,
    redisKeyPrefix: prefix,
    redisCommandTimeoutMs: commandTimeoutMs,
  };
}

const MIB = 1024 * 1024;

/** What one upstream call may send and read, and what one pub/sub message may carry. */
function byteLimitVars(
  env: Env,
  p: Problems,
): Pick<
  Config,
  | 'zstackMaxRequestBytes'
  | 'zstackMaxResponseBytes'
  | 'zstackMaxResponseBytesPerOperation'
  | 'redisMaxMessageBytes'
> {
  const request = intVar(env, p, 'ZSTACK_MAX_REQUEST_BYTES', MIB, 1024, 1024 * MIB);
  const response = intVar(env, p, 'ZSTACK_MAX_RESPONSE_BYTES', 16 * MIB, 64 * 1024, 1024 * MIB);
  // A write's answer holds what it sent: below that, an accepted write could never be read back.
  if (response < request) {
    p.add(`ZSTACK_MAX_RESPONSE_BYTES (${response}) must not be below ZSTACK_MAX_REQUEST_BYTES (${request})`);
  }
  const perOperation = intVar(
    env,
    p,
    'ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION',
    32 * MIB,
    64 * 1024,
    4096 * MIB,
  );
  if (perOperation < response) {
    p.add(
      `ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION (${perOperation}) must not be below ZSTACK_MAX_RESPONSE_BYTES (${response})`,
    );
  }
  return {
    zstackMaxRequestBytes: request,
    zstackMaxResponseBytes: response,
    zstackMaxResponseBytesPerOperation: perOperation,
    // 128 KiB holds the largest message of references (500 uuids and 1,000 digests) with room to spare.
    redisMaxMessageBytes: intVar(env, p, 'REDIS_MAX_MESSAGE_BYTES', MIB, 128 * 1024, 512 * MIB),
  };
}

/**
 * Each stream holds a connection that is never idle, so streams must never be able to hold every
 * connection: in all, per client address and per account they stay below the connection caps.
 */
function streamVars(
  env: Env,
  p: Problems,
): Pick<
  Config,
  | 'maxTicketSubscriptions'
  | 'maxTicketSubscriptionsPerAccount'
  | 'maxTicketSubscriptionsPerClient'
  | 'streamMaxBufferedBytes'
> {
  const before = p.list.length;
  // Their own problems are reported by connectionVars.
  const maxConnections = intVar(env, new Problems(), 'MAX_CONNECTIONS', 4096, 2, 1_000_000);
  const perClientConnections = perClientVar(env, new Problems());
  const total = intVar(
    env,
    p,
    'MAX_TICKET_SUBSCRIPTIONS',
    Math.max(1, Math.floor(maxConnections / 2)),
    1,
    1_000_000,
  );
  // Two sessions' worth at the default per-session cap; ten accounts at it stay under the default total.
  const perAccount = intVar(env, p, 'MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT', 200, 0, 1_000_000);
  const perClient = intVar(
    env,
    p,
    'MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT',
    perClientConnections === 0
      ? 0
      : Math.max(1, Math.min(Math.floor(perClientConnections / 2), perClientConnections - 1)),
    0,
    1_000_000,
  );
  if (p.list.length === before) {
    if (total >= maxConnections)
      p.add(
        `MAX_TICKET_SUBSCRIPTIONS (${total}) must be below MAX_CONNECTIONS (${maxConnections}): each stream holds a connection, and streams must never hold them all`,
      );
    if (perClientConnections > 0 && (perClient === 0 || perClient >= perClientConnections))
      p.add(
        `MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT (${perClient}) must be between 1 and MAX_CONNECTIONS_PER_CLIENT - 1 (${perClientConnections - 1})`,
      );
  }
  return {
    maxTicketSubscriptions: total,
    maxTicketSubscriptionsPerAccount: perAccount,
    maxTicketSubscriptionsPerClient: perClient,
    streamMaxBufferedBytes: intVar(
      env,
      p,
      'STREAM_MAX_BUFFERED_BYTES',
      1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
  };
}

/** GraphQL over WebSocket: sockets hold connections, so they stay below MAX_CONNECTIONS with the SSE streams. */
function webSocketVars(
  env: Env,
  p: Problems,
): Pick<
  Config,
  'wsMaxSockets' | 'wsMaxOperationsPerSocket' | 'wsConnectionInitTimeoutMs' | 'wsPingIntervalMs'
> {
  const quiet = new Problems();
  const maxConnections = intVar(env, quiet, 'MAX_CONNECTIONS', 4096, 2, 1_000_000);
  const streams = intVar(
    env,
    quiet,
    'MAX_TICKET_SUBSCRIPTIONS',
    Math.max(1, Math.floor(maxConnections / 2)),
    1,
    1_000_000,
  );
  const room = Math.max(0, maxConnections - 1 - streams);
  const sockets = intVar(
    env,
    p,
    'WS_MAX_SOCKETS',
    Math.min(room, Math.floor(maxConnections / 4)),
    0,
    1_000_000,
  );
  if (quiet.list.length === 0 && sockets > room)
    p.add(
      `WS_MAX_SOCKETS (${sockets}) plus MAX_TICKET_SUBSCRIPTIONS (${streams}) must be below MAX_CONNECTIONS (${maxConnections}): each socket and stream holds a connection, and together they must never hold them all`,
    );
  return {
    wsMaxSockets: sockets,
    wsMaxOperationsPerSocket: intVar(env, p, 'WS_MAX_OPERATIONS_PER_SOCKET', 100, 1, 100_000),
    wsConnectionInitTimeoutMs: intVar(env, p, 'WS_CONNECTION_INIT_TIMEOUT_MS', 3_000, 1, 600_000),
    wsPingIntervalMs: intVar(env, p, 'WS_PING_INTERVAL_MS', 15_000, 0, 3_600_000),
  };
}

/**
 * A browser opens up to 6 connections per origin over HTTP/1.1, plus one per open stream: 256 lets an
 * office of a few dozen people behind one NAT address in, while one address alone can hold at most
 * 1/16 of the default MAX_CONNECTIONS.
 */
const DEFAULT_CONNECTIONS_PER_CLIENT = 256;

/** MAX_CONNECTIONS_PER_CLIENT: 0 (off) or at least 2 (one connection beyond that address's streams). */
function perClientVar(env: Env, p: Problems): number {
  const value = intVar(env, p, 'MAX_CONNECTIONS_PER_CLIENT', DEFAULT_CONNECTIONS_PER_CLIENT, 0, 1_000_000);
  if (value !== 1) return value;
  p.add('MAX_CONNECTIONS_PER_CLIENT must be 0 (no per-address cap) or at least 2, got "1"');
  return DEFAULT_CONNECTIONS_PER_CLIENT;
}

function connectionVars(
  env: Env,
  p: Problems,
): Pick<
  Config,
  | 'maxConnections'
  | 'maxConnectionsPerClient'
  | 'headersTimeoutMs'
  | 'requestTimeoutMs'
  | 'keepAliveTimeoutMs'
> {
  const headersTimeoutMs = intVar(env, p, 'HEADERS_TIMEOUT_MS', 10_000, 1, 600_000);
  const requestTimeoutMs = intVar(env, p, 'REQUEST_TIMEOUT_MS', 30_000, 1, 3600_000);
  // node refuses a headers timeout longer than the request timeout (the headers are part of it).
  if (headersTimeoutMs > requestTimeoutMs) {
    p.add(
      `HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  return {
    // At least one connection beyond the streams (MAX_TICKET_SUBSCRIPTIONS must stay below it).
    maxConnections: intVar(env, p, 'MAX_CONNECTIONS', 4096, 2, 1_000_000),
    maxConnectionsPerClient: perClientVar(env, p),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: intVar(env, p, 'KEEP_ALIVE_TIMEOUT_MS', 65_000, 1, 3600_000),
  };
}

function optionalPort(env: Env, p: Problems, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const before = p.list.length;
  const port = intVar(env, p, name, 0, 0, 65535);
  return p.list.length > before ? undefined : port;
}

const OTLP_PROTOCOLS = ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'];

/**
 * Tracing is on when the standard OTLP endpoint variables say where to send spans, unless
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The exporter reads the other OTEL_*
 * variables itself (headers, timeout, service name); only what would fail later is checked here.
 */
function tracingVars(env: Env, p: Problems): boolean {
  const endpoints = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].filter((name) =>
    env[name]?.trim(),
  );
  if (endpoints.length === 0) return false;
  for (const name of endpoints) urlVar(env, p, name, 'http://otel-collector:4318');
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  if (exporter && exporter !== 'otlp')
    p.add(`OTEL_TRACES_EXPORTER must be otlp or none, got "${env.OTEL_TRACES_EXPORTER}"`);
  for (const name of OTLP_PROTOCOLS) {
    const protocol = env[name]?.trim();
    if (protocol && protocol !== 'http/json') {
      p.add(`${name} must be http/json (the gateway sends OTLP as JSON over HTTP), got "${env[name]}"`);
    }
  }
  return true;
}

function originsVar(env: Env, p: Problems, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const origins: string[] = [];
  for (const entry of raw.split(',')) {
    const text = entry.trim();
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text) {
      p.add(`${name} must list origins like https://console.example.com, got "${text}"`);
    } else origins.push(url.origin);
  }
  return origins;
}

/** Paths the gateway serves itself; the webhook would shadow them. */
const OWN_PATHS = new Set(['/graphql', '/health', '/ready', '/metrics']);

/**
 * Whether a path segment is an unguessable secret: at least 16 characters of [A-Za-z0-9_-], with a
 * letter, a digit and at least 8 distinct characters (so `zstack-webhook-callback` is not one).
 */
export function isSecretSegment(segment: string): boolean {
  return (
    /^[A-Za-z0-9_-]{16,}$/.test(segment) &&
    /[A-Za-z]/.test(segment) &&
    /\d/.test(segment) &&
    new Set(segment).size >= 8
  );
}

/**
 * ZSTACK_WEBHOOK_URL, its path made unguessable: job callbacks carry no credentials, so only a
 * secret path segment keeps others from forging them. A path without one gets a random segment
 * appended at start (`/zstack-webhook` → `/zstack-webhook/<24 random characters>`).
 */
function webhookUrlVar(env: Env, p: Problems, secret: () => string): string | undefined {
  const url = urlVar(env, p, 'ZSTACK_WEBHOOK_URL', 'http://gateway:4000/zstack-webhook');
  if (url === undefined) return undefined;
  const path = new URL(url).pathname;
  if (OWN_PATHS.has(path)) {
    p.add(
      `ZSTACK_WEBHOOK_URL must not use the gateway's own path ${path}; use e.g. /zstack-webhook, got "${env.ZSTACK_WEBHOOK_URL}"`,
    );
    return undefined;
  }
  return path.split('/').some(isSecretSegment) ? url : `${url}/${secret()}`;
}

function persistedOperationsVars(
  env: Env,
  p: Problems,
): Pick<Config, 'persistedOperationsFile' | 'persistedOperationsOnly'> {
  const file = env.PERSISTED_OPERATIONS_FILE?.trim() || undefined;
  const only = boolVar(env, p, 'PERSISTED_OPERATIONS_ONLY', false);
  // Without a manifest, "only persisted operations" would refuse every request.
  if (only && !file) p.add('PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE');
  return { persistedOperationsFile: file, persistedOperationsOnly: only };
}
