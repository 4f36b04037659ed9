import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Harness } from '../helpers/harness.js';
import { type Any, gets, logInAdmin, startReadHarness } from './support.js';

let h: Harness;
let admin: string;
let alice: string;

beforeAll(async () => {
  h = await startReadHarness();
  admin = await logInAdmin(h);
  const a = h.simulator.controls.demo.submitters[0];
  if (!a) throw new Error('no submitter in the demo data');
  alice = await h.logIn({ kind: 'IAM2_VIRTUAL_ID', virtualIdName: a.name, password: a.password });
});
afterAll(() => h.close());
beforeEach(() => {
  h.simulator.controls.reset();
});

function query(uuids: string[]): string {
  return `{ ${uuids.map((u, i) => `t${i}: ticket(uuid: "${u}") { uuid name history { uuid } }`).join(' ')}
    tickets(first: 5) { nodes { uuid ticketType { name } } } }`;
}

describe('two callers with different sessions', () => {
  it('run concurrently, each gets its own upstream calls under its own session', async () => {
    const uuids = h.simulator.controls
      .listTickets()
      .slice(0, 20)
      .map((t) => t.uuid as string);
    const rounds = 8;
    const results = await Promise.all(
      Array.from({ length: rounds }, (_, i) =>
        h.gql<Any>(query(uuids), {}, { session: i % 2 ? alice : admin }),
      ),
    );
    for (const res of results) {
      expect(res.errors).toBeUndefined();
      expect(uuids.map((_, i) => res.data[`t${i}`].uuid)).toEqual(uuids);
    }
    // No loader cache is shared: every operation made its own calls, each with its caller's session.
    const byTicketUuid = gets(h, '/tickets').filter((r) => r.query.startsWith('q=uuid'));
    expect(byTicketUuid).toHaveLength(rounds);
    const auth = (r: { headers: Record<string, string> }) => r.headers.authorization;
    expect(byTicketUuid.filter((r) => auth(r) === `OAuth ${admin}`)).toHaveLength(rounds / 2);
    expect(byTicketUuid.filter((r) => auth(r) === `OAuth ${alice}`)).toHaveLength(rounds / 2);
    expect(gets(h, '/tickets/histories')).toHaveLength(rounds);
    expect(gets(h, '/ticket-types')).toHaveLength(rounds);
  });

  it("a caller whose session ZStack refuses never sees a concurrent caller's data", async () => {
    const stranger = 'e'.repeat(32);
    const uuids = h.simulator.controls
      .listTickets()
      .slice(0, 5)
      .map((t) => t.uuid as string);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.gql<Any>(query(uuids), {}, { session: i % 2 ? stranger : admin }).then((res) => ({ i, res })),
      ),
    );
    for (const { i, res } of results) {
      if (i % 2) {
        expect(res.data === null || Object.values(res.data).every((v) => v === null)).toBe(true);
        expect(res.errors?.length).toBeGreaterThan(0);
        for (const e of res.errors ?? []) expect(e.extensions?.code).toBe('UNAUTHENTICATED');
      } else {
        expect(res.errors).toBeUndefined();
        expect(res.data.t0.uuid).toBe(uuids[0]);
      }
    }
    const strangerCalls = h.simulator.controls.requests.filter(
      (r) => r.headers.authorization === `OAuth ${stranger}`,
    );
    expect(strangerCalls.length).toBeGreaterThanOrEqual(5);
  });
});
