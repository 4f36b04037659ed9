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
  /** IANA zone or ±HH:MM offset of ZStack's Java date strings; undefined = ask ZStack once. */
  zstackTimeZone: string | undefined;
  /** Where ZStack can reach this gateway's job webhook; undefined = polling only. */
  zstackWebhookUrl: string | undefined;
  production: boolean;
  logLevel: string;
  introspection: boolean;
  /** Grace period for in-flight requests on SIGTERM/SIGINT. */
  shutdownGraceMs: number;
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
export function loadConfig(env: Env): Config {
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
    zstackTimeZone: timeZoneVar(env, 'ZSTACK_TIME_ZONE'),
    zstackWebhookUrl: urlVar(env, 'ZSTACK_WEBHOOK_URL'),
    production,
    logLevel,
    introspection: boolVar(env, 'GRAPHQL_INTROSPECTION', true),
    shutdownGraceMs: intVar(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
}
