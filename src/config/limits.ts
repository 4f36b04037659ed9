/** The settings that bound each other: connections, streams, WebSockets, byte limits, Redis. */
import { type Env, intVar, Problems } from './parse.js';
import type { Config } from './types.js';

export function redisVars(
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
export function byteLimitVars(
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
export function streamVars(
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
export function webSocketVars(
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

export function connectionVars(
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
