import { describe, expect, expectTypeOf, it } from 'vitest';
import { type Config, ConfigError, loadConfig, SHUTDOWN_ANSWER_WINDOW_MS } from '../../src/config/index.js';

/** The settings whose "unset" is a meaning of its own (no ZStack URL = the embedded simulator, …). */
const UNSET_BY_MEANING = [
  'metricsPort',
  'persistedOperationsFile',
  'redisKeySecret',
  'redisUrl',
  'zstackTimeZone',
  'zstackUrl',
  'zstackWebhookUrl',
] as const;

/** Every key of Config whose type admits undefined (optional or `| undefined`). */
type MaybeUnset = { [K in keyof Config]-?: undefined extends Config[K] ? K : never }[keyof Config];

describe('loaded configuration', () => {
  // Checked by `npm run typecheck` (tests included): a setting typed optional invites a second default downstream.
  it('has every default filled: only the settings unset by meaning may be undefined', () => {
    expectTypeOf<MaybeUnset>().toEqualTypeOf<(typeof UNSET_BY_MEANING)[number]>();
    const unset = Object.entries(loadConfig({}))
      .filter(([, value]) => value === undefined)
      .map(([key]) => key)
      .sort();
    expect(unset).toEqual([...UNSET_BY_MEANING]);
  });
});

describe('operational settings', () => {
  it('have defaults that let legitimate screens through', () => {
    expect(loadConfig({})).toMatchObject({
      maxDepth: 15,
      maxAliases: 50,
      maxTokens: 2000,
      maxCost: 500_000,
      maxIntrospectionValues: 8000,
      maxFieldRepeats: 100,
      maxBodyBytes: 1024 * 1024,
      readyTimeoutMs: 1000,
      readyCacheMs: 1000,
      shutdownGraceMs: 8_000,
      loginAttemptsPerClientPerMinute: 60,
      loginFailuresPerAccountPerMinute: 10,
      publicOrigins: [],
    });
  });

  it('read every variable', () => {
    expect(
      loadConfig({
        GRAPHQL_MAX_DEPTH: '8',
        GRAPHQL_MAX_ALIASES: '5',
        GRAPHQL_MAX_TOKENS: '300',
        GRAPHQL_MAX_COST: '900',
        GRAPHQL_MAX_INTROSPECTION_VALUES: '7000',
        GRAPHQL_MAX_FIELD_REPEATS: '20',
        MAX_BODY_BYTES: '2048',
        READY_TIMEOUT_MS: '250',
        READY_CACHE_MS: '0',
        LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '0',
        LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '25',
        PUBLIC_ORIGINS: 'https://gateway.example.com, http://10.0.0.5:4000',
      }),
    ).toMatchObject({
      maxDepth: 8,
      maxAliases: 5,
      maxTokens: 300,
      maxCost: 900,
      maxIntrospectionValues: 7000,
      maxFieldRepeats: 20,
      maxBodyBytes: 2048,
      readyTimeoutMs: 250,
      readyCacheMs: 0,
      loginAttemptsPerClientPerMinute: 0,
      loginFailuresPerAccountPerMinute: 25,
      publicOrigins: ['https://gateway.example.com', 'http://10.0.0.5:4000'],
    });
  });

  it.each([
    ['GRAPHQL_MAX_DEPTH', '0'],
    ['GRAPHQL_MAX_ALIASES', 'many'],
    ['GRAPHQL_MAX_TOKENS', '-1'],
    ['GRAPHQL_MAX_COST', '1e6'],
    ['GRAPHQL_MAX_INTROSPECTION_VALUES', '0'],
    ['GRAPHQL_MAX_FIELD_REPEATS', 'x'],
    ['MAX_BODY_BYTES', '1MiB'],
    ['READY_TIMEOUT_MS', '0'],
    ['READY_CACHE_MS', '1.5'],
    ['LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE', '-1'],
    ['LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE', 'ten'],
    ['PUBLIC_ORIGINS', 'https://gateway.example.com/graphql'],
    ['PUBLIC_ORIGINS', 'gateway.example.com'],
  ])('refuse %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe('configuration errors', () => {
  it('are reported all at once, each with its value as typed', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y', ZSTACK_URL: 'zstack:8080', GRAPHIQL: 'perhaps' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT .*"x"$/),
        expect.stringMatching(/^LOG_LEVEL .*"y"$/),
        expect.stringMatching(/^ZSTACK_URL .*"zstack:8080"$/),
        expect.stringMatching(/^GRAPHIQL .*"perhaps"$/),
      ]),
    );
    // The message an operator reads names every variable.
    for (const name of ['PORT', 'LOG_LEVEL', 'ZSTACK_URL', 'GRAPHIQL'])
      expect((error as Error).message).toContain(name);
  });

  it('refuse caches that the V8 heap limit could not hold beside the rest', () => {
    const mib = 1024 * 1024;
    const secret = () => 'x'.repeat(32);
    // Default caches (32 + 64 + 8 MiB) and 64 MiB for everything else: 168 MiB.
    expect(() => loadConfig({}, secret, 168 * mib)).not.toThrow();
    expect(() => loadConfig({}, secret, 167 * mib)).toThrow(
      /GRAPHQL_PARSE_CACHE_MAX_BYTES \+ GRAPHQL_JIT_CACHE_MAX_BYTES \+ APQ_CACHE_MAX_BYTES \(104 MiB\) leave less than 64 MiB of the V8 heap limit \(167 MiB\).*--max-old-space-size/,
    );
    expect(() => loadConfig({ GRAPHQL_JIT_CACHE_MAX_BYTES: '0' }, secret, 104 * mib)).not.toThrow();
    expect(() =>
      loadConfig({ GRAPHQL_JIT_CACHE_MAX_BYTES: '0', APQ_CACHE_MAX_BYTES: '0' }, secret, 96 * mib),
    ).not.toThrow();
    // This process's own limit holds the defaults.
    expect(() => loadConfig({})).not.toThrow();
  });

  it.each([
    [
      'ZSTACK_URL',
      'http://admin:TopSecret1@zstack:8080/zstack',
      'http://admin:[redacted]@zstack:8080/zstack',
    ],
    ['ZSTACK_URL', 'ftp://admin:TopSecret1@zstack/zstack', 'ftp://admin:[redacted]@zstack/zstack'],
    ['REDIS_URL', 'http://:TopSecret1@redis:6379', 'http://:[redacted]@redis:6379'],
    ['REDIS_URL', 'redis//:TopSecret1@redis:6379', 'redis//:[redacted]@redis:6379'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://TopSecret1@otel:4318', 'http://[redacted]@otel:4318'],
  ])('quote %s=%s without its credentials', (name, value, shown) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value, REDIS_KEY_SECRET: 'k'.repeat(32) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = `${(error as Error).message}\n${(error as ConfigError).problems.join('\n')}`;
    expect(text).toContain(name);
    expect(text).toContain(`"${shown}"`);
    expect(text).not.toContain('TopSecret1');
  });

  it('never quote REDIS_KEY_SECRET', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://redis:6379', REDIS_KEY_SECRET: 'TopSecret1' })).toThrow(
      /^(?!.*TopSecret1).*REDIS_KEY_SECRET must be at least 32 characters/,
    );
  });

  it('quote a range violation as typed', () => {
    expect(() => loadConfig({ PORT: '070000' })).toThrow('got "070000"');
  });
});

describe('deployment settings', () => {
  it('have defaults: GraphiQL on, /metrics on the main port, a 3 s start-up check, no tracing', () => {
    expect(loadConfig({})).toMatchObject({
      graphiql: true,
      metricsPort: undefined,
      startupCheckMs: 3000,
      tracing: false,
    });
  });

  it('read GRAPHIQL, METRICS_PORT and STARTUP_CHECK_TIMEOUT_MS', () => {
    expect(
      loadConfig({ GRAPHIQL: 'false', METRICS_PORT: '9464', STARTUP_CHECK_TIMEOUT_MS: '0' }),
    ).toMatchObject({ graphiql: false, metricsPort: 9464, startupCheckMs: 0 });
  });

  it.each([
    [{ METRICS_PORT: '4000' }, 'METRICS_PORT must differ from PORT'],
    [{ METRICS_PORT: 'metrics' }, 'METRICS_PORT must be a whole number'],
    [{ STARTUP_CHECK_TIMEOUT_MS: '-1' }, 'STARTUP_CHECK_TIMEOUT_MS'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'zipkin' },
      'OTEL_TRACES_EXPORTER',
    ],
  ])('refuse %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_SERVICE_NAME: 'gateway' }, false],
  ])('trace with %o: %s', (env, tracing) => {
    expect(loadConfig(env).tracing).toBe(tracing);
  });
});

describe('stop timing', () => {
  it("the default grace plus the answer window fits docker stop's 10 s, with a second to close", () => {
    const { shutdownGraceMs } = loadConfig({});
    expect(shutdownGraceMs + SHUTDOWN_ANSWER_WINDOW_MS).toBeLessThanOrEqual(9_000);
  });
});

describe('GRAPHIQL', () => {
  const missing = { graphiqlInstalled: () => false };
  const installed = { graphiqlInstalled: () => true };
  it.each(['true', '1', 'on'])(
    'GRAPHIQL=%s without @graphql-yoga/graphiql installed is a configuration error',
    (value) => {
      let error: unknown;
      try {
        loadConfig({ GRAPHIQL: value, PORT: 'x' }, undefined, undefined, missing);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      // Reported with the others, naming the variable, the value and the package.
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toMatch(
        /GRAPHIQL is ".+" but its optional package @graphql-yoga\/graphiql is not installed/,
      );
    },
  );
  it('the default (unset) and GRAPHIQL=false start without the package, without an error', () => {
    expect(loadConfig({}, undefined, undefined, missing).graphiql).toBe(true);
    expect(loadConfig({ GRAPHIQL: 'false' }, undefined, undefined, missing).graphiql).toBe(false);
    expect(loadConfig({ GRAPHIQL: 'true' }, undefined, undefined, installed).graphiql).toBe(true);
  });
  it('the real check finds the package installed here (a dev install includes it)', () => {
    expect(loadConfig({ GRAPHIQL: 'true' }).graphiql).toBe(true);
  });
});

describe('NODE_ENV=production', () => {
  it('without ZSTACK_URL: one ConfigError that also lists every other problem', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'x', LOG_LEVEL: 'y' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/ZSTACK_URL is required when NODE_ENV=production/);
  });
  it('with ZSTACK_URL: no problem', () => {
    expect(loadConfig({ NODE_ENV: 'production', ZSTACK_URL: 'http://zstack:8080/zstack' }).zstackUrl).toBe(
      'http://zstack:8080/zstack',
    );
  });
});
