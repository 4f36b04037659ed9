import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { RecordedRequest } from '../../src/simulator/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/**
 * A harness whose gateway knows ZStack's zone (no platform-timezone lookup muddies the request
 * counts) and allows the alias counts the batching tests need.
 */
export function startReadHarness(): Promise<Harness> {
  return startHarness({
    env: {
      ZSTACK_TIME_ZONE: 'UTC',
      GRAPHQL_MAX_ALIASES: '1000',
      GRAPHQL_MAX_TOKENS: '1000000',
      GRAPHQL_MAX_COST: '1000000000',
    },
  });
}

export async function logInAdmin(h: Harness): Promise<string> {
  const { admin } = h.simulator.controls.demo;
  return h.logIn({ kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password });
}

export function gets(h: Harness, pathSuffix?: string): RecordedRequest[] {
  return h.simulator.controls.requests.filter(
    (r) => r.method === 'GET' && (pathSuffix === undefined || r.path === `/zstack/v1${pathSuffix}`),
  );
}

/** The decoded query parameters of a recorded request, in order. */
export function params(r: RecordedRequest | undefined): [string, string][] {
  if (!r) throw new Error('no such request');
  return r.query
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      return [decodeURIComponent(p.slice(0, i)), decodeURIComponent(p.slice(i + 1))];
    });
}

export function param(r: RecordedRequest | undefined, name: string): string | undefined {
  return params(r).find(([k]) => k === name)?.[1];
}

// biome-ignore lint/suspicious/noExplicitAny: test data walks untyped GraphQL results
export type Any = any;

/**
 * One read harness for a test file: started before its tests, back to the seeded state before each,
 * closed after; `admin` is an admin session.
 */
export function useReadHarness(): { readonly h: Harness; readonly admin: string } {
  let h: Harness | undefined;
  let admin: string | undefined;
  beforeAll(async () => {
    h = await startReadHarness();
    admin = await logInAdmin(h);
  });
  afterAll(() => h?.close());
  beforeEach(() => h?.simulator.controls.reset());
  return {
    get h() {
      if (!h) throw new Error('the read harness has not started');
      return h;
    },
    get admin() {
      if (!admin) throw new Error('the read harness has not started');
      return admin;
    },
  };
}
