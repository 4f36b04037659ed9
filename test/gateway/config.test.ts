import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('has defaults that need no environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      zstackUrl: undefined,
      port: 4000,
      host: '127.0.0.1',
      zstackTimeoutMs: 15_000,
      zstackJobTimeoutMs: 60_000,
      introspection: true,
      production: false,
    });
  });

  it('normalises ZSTACK_URL and reads the rest', () => {
    const config = loadConfig({
      ZSTACK_URL: 'http://zstack:8080/zstack/',
      PORT: '8081',
      ZSTACK_TIME_ZONE: 'Asia/Shanghai',
      GRAPHQL_INTROSPECTION: 'false',
      NODE_ENV: 'production',
    });
    expect(config).toMatchObject({
      zstackUrl: 'http://zstack:8080/zstack',
      port: 8081,
      host: '0.0.0.0',
      zstackTimeZone: 'Asia/Shanghai',
      introspection: false,
      production: true,
    });
  });

  it.each([
    ['ZSTACK_URL', 'zstack:8080'],
    ['ZSTACK_URL', 'ftp://zstack/zstack'],
    ['ZSTACK_URL', 'http://user:pw@zstack:8080/zstack'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['ZSTACK_TIMEOUT_MS', '-5'],
    ['ZSTACK_JOB_TIMEOUT_MS', '1.5'],
    ['ZSTACK_TIME_ZONE', 'Mars/Olympus'],
    ['GRAPHQL_INTROSPECTION', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['ZSTACK_WEBHOOK_URL', 'http://gateway:4000/graphql'],
    ['ZSTACK_WEBHOOK_URL', 'http://gateway:4000/health'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe('connection limits', () => {
  it('have safe defaults: a cap, short header and request timeouts, keep-alive past 60 s balancers', () => {
    expect(loadConfig({})).toMatchObject({
      maxConnections: 4096,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
    });
  });

  it('are read from the environment and validated', () => {
    expect(
      loadConfig({
        MAX_CONNECTIONS: '100',
        HEADERS_TIMEOUT_MS: '2000',
        REQUEST_TIMEOUT_MS: '5000',
        KEEP_ALIVE_TIMEOUT_MS: '75000',
      }),
    ).toMatchObject({
      maxConnections: 100,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      keepAliveTimeoutMs: 75_000,
    });
    expect(() => loadConfig({ MAX_CONNECTIONS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
    // node counts the headers inside the request timeout.
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /HEADERS_TIMEOUT_MS .* REQUEST_TIMEOUT_MS/,
    );
  });
});

describe('fair share: connections and streams per client and account', () => {
  it('defaults keep streams below the connections they hold, per address and in all', () => {
    expect(loadConfig({})).toMatchObject({
      maxConnectionsPerClient: 256,
      maxTicketSubscriptions: 2048,
      maxTicketSubscriptionsPerAccount: 200,
      maxTicketSubscriptionsPerClient: 128,
      streamMaxBufferedBytes: 1024 * 1024,
    });
    // Derived from MAX_CONNECTIONS when not set.
    expect(loadConfig({ MAX_CONNECTIONS: '200' })).toMatchObject({
      maxTicketSubscriptions: 100,
    });
    // No per-address cap behind a load balancer: no per-address stream cap either.
    expect(loadConfig({ MAX_CONNECTIONS_PER_CLIENT: '0' })).toMatchObject({
      maxConnectionsPerClient: 0,
      maxTicketSubscriptionsPerClient: 0,
    });
  });

  it.each([
    [
      { MAX_CONNECTIONS: '100', MAX_TICKET_SUBSCRIPTIONS: '100' },
      /MAX_TICKET_SUBSCRIPTIONS \(100\) must be below MAX_CONNECTIONS/,
    ],
    [
      { MAX_TICKET_SUBSCRIPTIONS: '10000' },
      /MAX_TICKET_SUBSCRIPTIONS \(10000\) must be below MAX_CONNECTIONS \(4096\)/,
    ],
    [
      { MAX_CONNECTIONS_PER_CLIENT: '10', MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT: '10' },
      /MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT/,
    ],
    [
      { MAX_CONNECTIONS_PER_CLIENT: '10', MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT: '0' },
      /MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT/,
    ],
    [{ MAX_CONNECTIONS_PER_CLIENT: '1' }, /MAX_CONNECTIONS_PER_CLIENT must be 0/],
    [{ MAX_CONNECTIONS: '1' }, /MAX_CONNECTIONS/],
    [{ STREAM_MAX_BUFFERED_BYTES: '10' }, /STREAM_MAX_BUFFERED_BYTES/],
    [{ MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT: 'many' }, /MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('GraphQL over WebSocket', () => {
  it('defaults: a quarter of MAX_CONNECTIONS as sockets, within the room the streams leave', () => {
    expect(loadConfig({})).toMatchObject({
      wsMaxSockets: 1024,
      wsMaxOperationsPerSocket: 100,
      wsConnectionInitTimeoutMs: 3000,
      wsPingIntervalMs: 15_000,
    });
    expect(loadConfig({ MAX_CONNECTIONS: '100', MAX_TICKET_SUBSCRIPTIONS: '90' })).toMatchObject({
      wsMaxSockets: 9,
    });
    expect(loadConfig({ WS_MAX_SOCKETS: '0' }).wsMaxSockets).toBe(0);
  });

  it.each([
    [{ WS_MAX_SOCKETS: '3000' }, /WS_MAX_SOCKETS \(3000\) plus MAX_TICKET_SUBSCRIPTIONS \(2048\)/],
    [{ WS_MAX_OPERATIONS_PER_SOCKET: '0' }, /WS_MAX_OPERATIONS_PER_SOCKET/],
    [{ WS_CONNECTION_INIT_TIMEOUT_MS: 'soon' }, /WS_CONNECTION_INIT_TIMEOUT_MS/],
    [{ WS_PING_INTERVAL_MS: '-1' }, /WS_PING_INTERVAL_MS/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('Redis (several gateways)', () => {
  const secret = 'ssssssssssssssss0123456789abcdef';
  it('is off by default; REDIS_URL needs REDIS_KEY_SECRET', () => {
    expect(loadConfig({})).toMatchObject({
      redisUrl: undefined,
      redisKeySecret: undefined,
      redisKeyPrefix: 'zstack-graphql:',
      redisCommandTimeoutMs: 1000,
    });
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow('REDIS_KEY_SECRET');
    expect(
      loadConfig({
        REDIS_URL: 'rediss://cache:6380/2',
        REDIS_KEY_SECRET: secret,
        REDIS_KEY_PREFIX: 'gw-eu:',
        REDIS_COMMAND_TIMEOUT_MS: '250',
      }),
    ).toMatchObject({
      redisUrl: 'rediss://cache:6380/2',
      redisKeySecret: secret,
      redisKeyPrefix: 'gw-eu:',
      redisCommandTimeoutMs: 250,
    });
  });

  it.each([
    [{ REDIS_URL: 'http://cache:6379', REDIS_KEY_SECRET: secret }, 'REDIS_URL'],
    [{ REDIS_URL: 'cache:6379', REDIS_KEY_SECRET: secret }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis://cache:6379', REDIS_KEY_SECRET: 'short' }, 'REDIS_KEY_SECRET'],
    [
      { REDIS_URL: 'redis://cache:6379', REDIS_KEY_SECRET: secret, REDIS_KEY_PREFIX: 'a b' },
      'REDIS_KEY_PREFIX',
    ],
    [{ REDIS_COMMAND_TIMEOUT_MS: '0' }, 'REDIS_COMMAND_TIMEOUT_MS'],
  ])('refuses %o naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
