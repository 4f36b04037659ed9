import type { Simulator } from '../../src/simulator/index.js';
import { type Harness, startHarness } from './harness.js';
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
    });
    mine.push(h);
    o.started.push(h);
  }
  await waitFor(() => mine.every((g) => g.gateway.cluster?.up === true), 'every instance to reach Redis');
  return mine;
}
