/**
 * loadConfig: the environment read and validated once into a Config with every default filled.
 * The settings are described in types.ts; parse.ts reads one variable, limits.ts and features.ts
 * the groups whose values depend on each other.
 */
import { getHeapStatistics } from 'node:v8';
import {
  graphiqlPackageInstalled,
  graphiqlVar,
  persistedOperationsVars,
  randomSecret,
  tracingVars,
  webhookUrlVar,
} from './features.js';
import { byteLimitVars, connectionVars, redisVars, streamVars, webSocketVars } from './limits.js';
import {
  boolVar,
  ConfigError,
  type Env,
  intVar,
  optionalPort,
  originsVar,
  Problems,
  timeZoneVar,
  urlVar,
} from './parse.js';
import type { Config } from './types.js';

export { isSecretSegment } from './features.js';
export { ConfigError } from './parse.js';
export type { Config } from './types.js';

/**
 * After the grace period (SHUTDOWN_GRACE_MS), how long the answers of requests stopped at its end get
 * to be written. The default grace plus this fits `docker stop`'s 10 s with a second to spare for
 * closing the pool and writing the last log lines.
 */
export const SHUTDOWN_ANSWER_WINDOW_MS = 1000;

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
  const caches = config.parseCacheMaxBytes + config.jitCacheMaxBytes + config.apqCacheMaxBytes;
  if (caches + HEAP_RESERVE_BYTES <= heapLimitBytes) return;
  const mib = (n: number) => Math.round(n / (1024 * 1024));
  p.add(
    `GRAPHQL_PARSE_CACHE_MAX_BYTES + GRAPHQL_JIT_CACHE_MAX_BYTES + APQ_CACHE_MAX_BYTES (${mib(caches)} MiB) leave less than ${mib(HEAP_RESERVE_BYTES)} MiB of the V8 heap limit (${mib(heapLimitBytes)} MiB): lower them, or raise the limit (NODE_OPTIONS=--max-old-space-size=<MiB>)`,
  );
}
