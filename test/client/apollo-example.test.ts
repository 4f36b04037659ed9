import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/apollo-approval');

interface Row {
  uuid: string;
  name: string;
  status: string | null;
}
interface ExampleOutput {
  waiting: number;
  before: Row[];
  decided: (Row & { id: string; lastOpDate: string | null }) | null;
  after: Row[];
  cachedTickets: number;
}

/** Runs the compiled example the way a user would: `node dist/main.js` with settings in the environment. */
async function runExample(env: Record<string, string>): Promise<ExampleOutput> {
  const { stdout, stderr } = await run(process.execPath, [join(EXAMPLE, 'dist/main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  // Apollo prints its development warnings (e.g. cache data lost on a merge) to stderr: there must be none.
  expect(stderr).toBe('');
  return JSON.parse(stdout) as ExampleOutput;
}

// tsc fails on any operation result the example reads in a way its types no longer allow.
beforeAll(async () => {
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', EXAMPLE], {
    timeout: 60_000,
  });
}, 120_000);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Upstream ticket lists (QueryTicket), not reads of one ticket by uuid. */
const listQueries = (harness: Harness) =>
  harness.simulator.controls.requests.filter((r) => r.method === 'GET' && r.path === '/zstack/v1/tickets')
    .length;

describe('the Apollo Client approval example', () => {
  it.each([
    ['approve', /^(INTERMEDIATE|FINAL)_APPROVED$/, /^(IntermediateApproved|FinalApproved)$/],
    ['reject', /^REJECTED$/, /^Rejected$/],
  ])(
    'lists, decides (%s) and shows the decision in the list from the cache',
    async (decision, status, upstream) => {
      h = await startHarness();
      const out = await runExample({ GATEWAY_URL: h.url, DECISION: decision });

      const uuid = out.decided?.uuid as string;
      expect(out.before.find((t) => t.uuid === uuid)?.status).toMatch(/^(PENDING|INTERMEDIATE_APPROVED)$/);
      expect(out.decided?.status).toMatch(status);
      expect(h.simulator.controls.getTicket(uuid)?.status).toMatch(upstream);
      // The list rendered after the decision: same tickets, same order, the decided one with its new status,
      // and every ticket stored once in the cache.
      expect(out.after.map((t) => t.uuid)).toEqual(out.before.map((t) => t.uuid));
      expect(out.after.find((t) => t.uuid === uuid)?.status).toBe(out.decided?.status);
      expect(out.after.filter((t) => t.uuid !== uuid)).toEqual(out.before.filter((t) => t.uuid !== uuid));
      expect(out.cachedTickets).toBe(out.before.length);
      // One list from ZStack, one decision, and no refetch of the list.
      expect(listQueries(h)).toBe(1);
      expect(h.simulator.controls.count({ method: 'PUT', path: '/v1/tickets/' })).toBe(1);
    },
  );
});
