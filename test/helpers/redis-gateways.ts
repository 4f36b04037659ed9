import { afterAll, afterEach, beforeAll } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type Harness, type StartOptions, startHarness } from './harness.js';
import { type RedisServer, skipRedisTests, startRedis } from './redis.js';
import type { SseSubscription } from './sse.js';
import { waitFor } from './wait.js';

/** The REDIS_KEY_SECRET every test instance shares. */
export const REDIS_TEST_SECRET = 'a-test-only-secret-of-at-least-32-characters';

export interface RedisGatewaysOptions {
  simulator: Simulator;
  redisUrl: string;
  /** REDIS_KEY_PREFIX: a fresh one per test keeps tests out of each other's keys. */
  prefix: string;
  n: number;
  env: Record<string, string>;
  /** createApp's deps for every instance (one manual feed timer for all of them). */
  deps?: StartOptions['deps'];
  /** Each gateway is pushed here as soon as it runs, so the test's afterEach closes it even if a later one fails to start. */
  started: Harness[];
}

/** `n` gateways in front of one simulator on one Redis; resolves once every instance is on Redis. */
export async function startRedisGateways(o: RedisGatewaysOptions): Promise<Harness[]> {
  const mine: Harness[] = [];
  for (let i = 0; i < o.n; i++) {
    const h = await startHarness({
      upstream: o.simulator,
      env: {
        ZSTACK_TIME_ZONE: 'UTC',
        REDIS_URL: o.redisUrl,
        REDIS_KEY_SECRET: REDIS_TEST_SECRET,
        REDIS_KEY_PREFIX: o.prefix,
        ...o.env,
      },
      deps: o.deps,
    });
    mine.push(h);
    o.started.push(h);
  }
  await waitFor(() => mine.every((g) => g.gateway.cluster?.up === true), 'every instance to reach Redis');
  return mine;
}

/** One redis-server and one simulator shared by a test file's tests, and what each test opens. */
export interface RedisFixture {
  /** Started before the file's first test (unless skipRedisTests), stopped after its last. */
  readonly redis: RedisServer;
  readonly simulator: Simulator;
  /** Gateways a test started: closed after it. */
  readonly gateways: Harness[];
  /** Streams a test opened: closed after it. */
  readonly streams: SseSubscription[];
  /** REDIS_KEY_PREFIX of the last start(). */
  readonly prefix: string;
  /** `n` gateways on `redisUrl` (this fixture's Redis by default), with a key prefix no other test uses. */
  start(
    n: number,
    env: Record<string, string>,
    redisUrl?: string,
    deps?: StartOptions['deps'],
  ): Promise<Harness[]>;
}

/** Registers the hooks of a file of several-gateways tests (call once, at its top level). */
export function useRedisFixture(): RedisFixture {
  let redis: RedisServer | undefined;
  let simulator: Simulator | undefined;
  let prefixes = 0;
  const gateways: Harness[] = [];
  const streams: SseSubscription[] = [];
  beforeAll(async () => {
    if (skipRedisTests) return;
    redis = await startRedis();
    simulator = await startSimulator({ port: 0 });
  });
  afterAll(async () => {
    await simulator?.close();
    await redis?.stop();
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`${what} is not running (skipRedisTests, or used before beforeAll)`);
    return value;
  };
  return {
    get redis() {
      return started(redis, 'redis-server');
    },
    get simulator() {
      return started(simulator, 'the simulator');
    },
    gateways,
    streams,
    get prefix() {
      return `t${prefixes}:`;
    },
    start(n, env, redisUrl, deps) {
      return startRedisGateways({
        simulator: started(simulator, 'the simulator'),
        redisUrl: redisUrl ?? started(redis, 'redis-server').url,
        prefix: `t${++prefixes}:`,
        n,
        env,
        deps,
        started: gateways,
      });
    },
  };
}
