import { randomBytes } from 'node:crypto';

/** 24 URL-safe random characters (144 bits), with a digit so that isSecretSegment accepts it. */
function randomSecret(): string {
  for (;;) {
    const s = randomBytes(18).toString('base64url');
    if (isSecretSegment(s)) return s;
  }
}

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
  /** How often live subscriptions poll ZStack for ticket changes (one query per session per interval). */
  ticketPollIntervalMs: number;
  /** Most open ticketUpdated streams one session may have (MAX_TICKET_SUBSCRIPTIONS_PER_SESSION). */
  maxTicketSubscriptionsPerSession: number;
  /** Most open ticketUpdated streams in all (MAX_TICKET_SUBSCRIPTIONS). */
  maxTicketSubscriptions: number;
  /** Largest job-callback body read; larger is HTTP 413 and the connection closes (ZSTACK_WEBHOOK_MAX_BODY_BYTES). */
  zstackWebhookMaxBodyBytes: number;
  /** A job callback wakes that job's poll at most once per this many ms (ZSTACK_WEBHOOK_WAKE_INTERVAL_MS). */
  zstackWebhookWakeIntervalMs: number;
  /** Grace period for in-flight requests on SIGTERM/SIGINT. */
  shutdownGraceMs: number;
  /** Deepest selection nesting a document may have (GRAPHQL_MAX_DEPTH). */
  maxDepth: number;
  /** Most aliases one operation may use (GRAPHQL_MAX_ALIASES). */
  maxAliases: number;
  /** Most lexical tokens one document may have (GRAPHQL_MAX_TOKENS). */
  maxTokens: number;
  /** Highest graphql-armor cost one operation may have (GRAPHQL_MAX_COST). */
  maxCost: number;
  /** Largest request body accepted; larger is HTTP 413 (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** How long /ready waits for ZStack's answer (READY_TIMEOUT_MS). */
  readyTimeoutMs: number;
  /** How long one /ready verdict is reused (READY_CACHE_MS). */
  readyCacheMs: number;
  /** A JSON manifest hash → document of persisted operations (PERSISTED_OPERATIONS_FILE); unset = none. */
  persistedOperationsFile?: string | undefined;
  /** Run only the manifest's operations, refusing documents sent as text (PERSISTED_OPERATIONS_ONLY). */
  persistedOperationsOnly?: boolean;
  /** Origins (scheme://host[:port]) whose web pages may call the gateway (CORS_ORIGINS); none by default. */
  corsOrigins: string[];
  /** Most client connections open at once; past it a new connection is closed at once (MAX_CONNECTIONS). */
  maxConnections: number;
  /** How long a client may take to send a request's headers (HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** How long a client may take to send a whole request, body included; not the answer (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
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
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function urlVar(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got "${url.protocol}"`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name} must not carry a query, fragment or credentials`);
  }
  return url.toString().replace(/\/+$/, '');
}

function timeZoneVar(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (/^[+-]\d{2}:\d{2}$/.test(raw)) return raw;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
  } catch {
    throw new ConfigError(`${name} must be an IANA time zone (e.g. Asia/Shanghai) or an offset like +08:00`);
  }
  return raw;
}

/** Reads and validates the environment; throws ConfigError naming the offending variable. */
export function loadConfig(env: Env, secret: () => string = randomSecret): Config {
  const production = env.NODE_ENV === 'production';
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  const host = env.HOST?.trim() || (production ? '0.0.0.0' : '127.0.0.1');
  return {
    zstackUrl: urlVar(env, 'ZSTACK_URL'),
    port: intVar(env, 'PORT', 4000, 0, 65535),
    host,
    zstackTimeoutMs: intVar(env, 'ZSTACK_TIMEOUT_MS', 15_000, 1, 600_000),
    zstackJobTimeoutMs: intVar(env, 'ZSTACK_JOB_TIMEOUT_MS', 60_000, 1, 3 * 3600_000),
    operationTimeoutMs: intVar(env, 'OPERATION_TIMEOUT_MS', 90_000, 1, 3 * 3600_000),
    zstackTimeZone: timeZoneVar(env, 'ZSTACK_TIME_ZONE'),
    zstackWebhookUrl: webhookUrlVar(env, secret),
    production,
    logLevel,
    introspection: boolVar(env, 'GRAPHQL_INTROSPECTION', true),
    jit: boolVar(env, 'GRAPHQL_JIT', true),
    ticketPollIntervalMs: intVar(env, 'TICKET_POLL_INTERVAL_MS', 5_000, 50, 3_600_000),
    maxTicketSubscriptionsPerSession: intVar(env, 'MAX_TICKET_SUBSCRIPTIONS_PER_SESSION', 100, 1, 100_000),
    maxTicketSubscriptions: intVar(env, 'MAX_TICKET_SUBSCRIPTIONS', 10_000, 1, 1_000_000),
    zstackWebhookMaxBodyBytes: intVar(env, 'ZSTACK_WEBHOOK_MAX_BODY_BYTES', 64 * 1024, 0, 16 * 1024 * 1024),
    zstackWebhookWakeIntervalMs: intVar(env, 'ZSTACK_WEBHOOK_WAKE_INTERVAL_MS', 250, 0, 60_000),
    shutdownGraceMs: intVar(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    maxDepth: intVar(env, 'GRAPHQL_MAX_DEPTH', 15, 1, 1000),
    maxAliases: intVar(env, 'GRAPHQL_MAX_ALIASES', 50, 0, 100_000),
    maxTokens: intVar(env, 'GRAPHQL_MAX_TOKENS', 2000, 1, 10_000_000),
    maxCost: intVar(env, 'GRAPHQL_MAX_COST', 500_000, 1, 1_000_000_000),
    maxBodyBytes: intVar(env, 'MAX_BODY_BYTES', 1024 * 1024, 1, 1024 * 1024 * 1024),
    readyTimeoutMs: intVar(env, 'READY_TIMEOUT_MS', 1000, 1, 60_000),
    readyCacheMs: intVar(env, 'READY_CACHE_MS', 1000, 0, 60_000),
    ...persistedOperationsVars(env),
    corsOrigins: originsVar(env, 'CORS_ORIGINS'),
    ...connectionVars(env),
    ...redisVars(env),
  };
}

function redisVars(
  env: Env,
): Pick<Config, 'redisUrl' | 'redisKeySecret' | 'redisKeyPrefix' | 'redisCommandTimeoutMs'> {
  const raw = env.REDIS_URL?.trim() || undefined;
  const secret = env.REDIS_KEY_SECRET || undefined;
  const prefix = env.REDIS_KEY_PREFIX?.trim() || 'zstack-graphql:';
  const commandTimeoutMs = intVar(env, 'REDIS_COMMAND_TIMEOUT_MS', 1000, 10, 60_000);
  if (raw === undefined) {
    return {
      redisUrl: undefined,
      redisKeySecret: undefined,
      redisKeyPrefix: prefix,
      redisCommandTimeoutMs: commandTimeoutMs,
    };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL must use redis or rediss, got "${url.protocol}"`);
  }
  // Every instance must name a session alike, and whoever reads Redis must not be able to: a shared
  // secret the operator sets, never one made up here (each instance would make up another).
  if (secret === undefined)
    throw new ConfigError('REDIS_URL needs REDIS_KEY_SECRET (the same on every instance)');
  if (secret.length < 32) throw new ConfigError('REDIS_KEY_SECRET must be at least 32 characters');
  if (!/^[\w:.-]{1,64}$/.test(prefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX must be 1 to 64 characters of [A-Za-z0-9_:.-]');
  }
  return {
    redisUrl: raw,
    redisKeySecret: secret,
    redisKeyPrefix: prefix,
    redisCommandTimeoutMs: commandTimeoutMs,
  };
}

function connectionVars(
  env: Env,
): Pick<Config, 'maxConnections' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'> {
  const headersTimeoutMs = intVar(env, 'HEADERS_TIMEOUT_MS', 10_000, 1, 600_000);
  const requestTimeoutMs = intVar(env, 'REQUEST_TIMEOUT_MS', 30_000, 1, 3600_000);
  // node refuses a headers timeout longer than the request timeout (the headers are part of it).
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  return {
    maxConnections: intVar(env, 'MAX_CONNECTIONS', 4096, 1, 1_000_000),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: intVar(env, 'KEEP_ALIVE_TIMEOUT_MS', 65_000, 1, 3600_000),
  };
}

function originsVar(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const text = entry.trim();
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text) {
      throw new ConfigError(`${name} must list origins like https://console.example.com, got "${text}"`);
    }
    return url.origin;
  });
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
function webhookUrlVar(env: Env, secret: () => string): string | undefined {
  let url = urlVar(env, 'ZSTACK_WEBHOOK_URL');
  if (url === undefined) return undefined;
  if (OWN_PATHS.has(new URL(url).pathname)) {
    throw new ConfigError(
      `ZSTACK_WEBHOOK_URL must not use the gateway's own path ${new URL(url).pathname}; use e.g. /zstack-webhook`,
    );
  }
  if (!new URL(url).pathname.split('/').some(isSecretSegment)) url = `${url}/${secret()}`;
  return url;
}

function persistedOperationsVars(
  env: Env,
): Pick<Config, 'persistedOperationsFile' | 'persistedOperationsOnly'> {
  const file = env.PERSISTED_OPERATIONS_FILE?.trim() || undefined;
  const only = boolVar(env, 'PERSISTED_OPERATIONS_ONLY', false);
  // Without a manifest, "only persisted operations" would refuse every request.
  if (only && !file) throw new ConfigError('PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE');
  return { persistedOperationsFile: file, persistedOperationsOnly: only };
}
