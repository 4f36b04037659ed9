import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Fault } from '../../src/simulator/index.js';
import { CHANGE, KNOWN_CODES, type OpsHarness, startOps } from './support.js';

/**
 * Operations in the soak. The default keeps it under 30 s on a busy 2-core box and still runs
 * hundreds of faults; `SOAK_OPERATIONS=20000` is the full-size run.
 */
const OPERATIONS = Number(process.env.SOAK_OPERATIONS ?? 6000);
const CONCURRENCY = 50;
const FAULT_RATE = Number(process.env.SOAK_FAULT_RATE ?? 0.1);
/** heapUsed after GC may end at most this far above where it started. */
const HEAP_MARGIN_BYTES = 48 * 1024 * 1024;

function collectGarbage(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let h: OpsHarness;
beforeAll(async () => {
  h = await startOps({
    env: { LOG_LEVEL: 'silent', ZSTACK_TIMEOUT_MS: '2000', ZSTACK_JOB_TIMEOUT_MS: '5000' },
  });
});
afterAll(() => h.close());

const FAULTS: Fault[] = [
  { kind: 'errorCode', code: 'SYS.1006', description: 'An operation failed', details: 'injected' },
  { kind: 'errorCode', code: 'ID.1001', details: 'injected', async: true },
  { kind: 'http500', text: 'injected' },
  { kind: 'reset' },
  { kind: 'reset', after: true },
  { kind: 'malformed' },
  { kind: 'latency', ms: 20 },
];
const EVENTS = ['APPROVE', 'REJECT', 'REOPEN', 'CANCEL'];

it(`soak: ${OPERATIONS} operations at concurrency ${CONCURRENCY} with ${FAULT_RATE * 100}% faults`, async () => {
  const gc = collectGarbage();
  const c = h.simulator.controls;
  const session = await h.adminSession();
  const tickets = c.listTickets().map((t) => t.uuid as string);
  const dispatcher = new Agent({ connections: CONCURRENCY });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json',
    authorization: `OAuth ${session}`,
  };
  const READ = JSON.stringify({ query: '{ session { uuid } }' });

  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const unaccounted: string[] = [];
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;

  async function one(): Promise<void> {
    if (random() < FAULT_RATE) c.injectFault({ fault: pick(FAULTS) });
    const body =
      random() < 0.7
        ? READ
        : JSON.stringify({
            query: CHANGE,
            variables: { input: { uuid: pick(tickets), statusEvent: pick(EVENTS) } },
          });
    const res = await request(h.url, { method: 'POST', headers, body, dispatcher });
    const text = await res.body.text();
    let parsed: { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    try {
      parsed = JSON.parse(text);
    } catch {
      unaccounted.push(`${res.statusCode} ${text.slice(0, 200)}`);
      return;
    }
    if (res.statusCode !== 200) unaccounted.push(`${res.statusCode} ${text.slice(0, 200)}`);
    if (!parsed.errors || parsed.errors.length === 0) {
      if (parsed.data) count('OK');
      else unaccounted.push(text.slice(0, 200));
      return;
    }
    for (const e of parsed.errors) {
      const code = e.extensions?.code ?? 'none';
      count(code);
      if (!KNOWN_CODES.has(code)) unaccounted.push(text.slice(0, 200));
    }
  }

  async function run(n: number): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          await one();
          if (next % 2000 === 0) c.clearRequests();
        }
      }),
    );
  }

  await run(1000); // warm up: JIT, pools, caches
  c.clearRequests();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  outcomes.clear();

  const started = Date.now();
  await run(OPERATIONS);
  const seconds = (Date.now() - started) / 1000;

  c.clearFaults();
  c.clearRequests();
  await dispatcher.close();
  gc();
  const heapAfter = process.memoryUsage().heapUsed;

  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  console.log(
    `soak: ${OPERATIONS} ops in ${seconds.toFixed(1)} s (${Math.round(OPERATIONS / seconds)}/s), heap ${(
      heapBefore / 1e6
    ).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB`,
    Object.fromEntries(outcomes),
  );
  expect(unaccounted).toEqual([]);
  expect(outcomes.get('INTERNAL_SERVER_ERROR') ?? 0).toBe(0);
  expect(total).toBeGreaterThanOrEqual(OPERATIONS);
  expect(outcomes.get('OK') ?? 0).toBeGreaterThan(OPERATIONS * 0.5);
  // Faults did happen and were answered with their codes.
  expect(outcomes.get('UPSTREAM_UNAVAILABLE') ?? 0).toBeGreaterThan(0);
  expect(outcomes.get('UPSTREAM_ERROR') ?? 0).toBeGreaterThan(0);
  expect(heapAfter - heapBefore).toBeLessThan(HEAP_MARGIN_BYTES);
  // Still serving.
  const after = await h.gql('{ session { uuid } }', {}, { session });
  expect(after.body.data).toEqual({ session: { uuid: session } });
}, 120_000);
