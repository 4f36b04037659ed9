import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { createManualTimer } from '../helpers/manual-timer.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const WATCH = `subscription($uuids: [ID!], $where: TicketWhere) {
  ticketUpdated(uuids: $uuids, where: $where) { uuid status lastOpDate }
}`;
const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;

function suite(
  intervalMs: number,
  body: (ctx: () => { h: Harness; admin: string; pending: string[] }) => void,
  env: Record<string, string> = {},
) {
  let h: Harness;
  let admin: string;
  let pending: string[];
  beforeAll(async () => {
    h = await startHarness({
      env: { TICKET_POLL_INTERVAL_MS: String(intervalMs), ZSTACK_TIME_ZONE: 'UTC', ...env },
    });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    const c = h.simulator.controls;
    c.reset();
    admin = await h.logIn({ accountName: c.demo.admin.accountName, password: c.demo.admin.password });
    pending = c
      .listTickets()
      .filter((t) => t.status === 'Pending')
      .map((t) => t.uuid as string);
    c.clearRequests();
  });
  body(() => ({ h, admin, pending }));
}

const ticketPolls = (h: Harness) => h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' });

let open: SseSubscription[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe('ticketUpdated: one upstream query per session per interval (manual clock)', () => {
  const manual = createManualTimer();
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '1000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '1000',
      },
      deps: { feedTimer: manual.timer },
    });
    const c = h.simulator.controls;
    admin = await h.logIn({ accountName: c.demo.admin.accountName, password: c.demo.admin.password });
  });
  afterAll(() => h.close());

  /** Fires the next due poll and waits until its answer is taken (the loop then sets its next timer). */
  async function tick(ms: number, expectedPolls: number) {
    manual.advance(ms);
    await waitFor(() => ticketPolls(h) === expectedPolls && manual.pending === 1, `poll ${expectedPolls}`);
  }

  it('1,000 streams with distinct filters: exactly one query per interval; each stream gets only its matches', async () => {
    const c = h.simulator.controls;
    c.clearRequests();
    const subs: SseSubscription[] = [];
    for (let i = 0; i < 1000; i++) {
      const where = { nameContains: `demo ticket ${i + 1}`, statusIn: ['PENDING', 'REJECTED'] };
      subs.push(await subscribe(h.url, WATCH, { where }, admin));
    }
    open.push(...subs);
    await waitFor(() => h.gateway.feed.size === 1000, 'the 1,000 streams to open');
    expect(ticketPolls(h)).toBe(0);
    await tick(0, 1); // the session's first poll: the baseline
    for (let interval = 1; interval <= 5; interval++) await tick(1000, 1 + interval);
    // Half an interval on: no poll is due.
    manual.advance(500);
    expect(ticketPolls(h)).toBe(6);
    const queries = c.requests
      .filter((r) => r.path.endsWith('/v1/tickets'))
      .map((r) => decodeURIComponent(r.query));
    expect(queries.slice(1).every((q) => q.includes('q=lastOpDate>='))).toBe(true);

    const seventh = c.listTickets().find((t) => t.name === 'demo ticket 7' && t.status === 'Pending');
    expect(seventh).toBeDefined();
    c.changeTicketStatus(seventh?.uuid as string, 'reject');
    await tick(500, 7);
    const event = await subs[6]?.next(2000);
    expect(event?.data).toMatchObject({ ticketUpdated: { uuid: seventh?.uuid, status: 'REJECTED' } });
    expect(subs.filter((s) => s.pending > 0)).toHaveLength(0);
    expect(subs[7]?.pending).toBe(0);

    for (const sub of subs) sub.close();
    await waitFor(() => h.gateway.feed.size === 0, 'the streams to close');
    expect(manual.pending).toBe(0);
    manual.advance(10_000);
    expect(ticketPolls(h)).toBe(7);
  });
});

describe('ticketUpdated: polling', () => {
  suite(250, (get) => {
    it('a change made directly at ZStack reaches subscribers within one interval', async () => {
      const { h, admin, pending } = get();
      const uuid = pending[0] as string;
      const sub = await subscribe(h.url, WATCH, { uuids: [uuid] }, admin);
      open.push(sub);
      await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
      h.simulator.controls.changeTicketStatus(uuid, 'reject');
      const event = await sub.next(250 + 400);
      expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: 'REJECTED' } });
      expect(sub.pending).toBe(0);
    });

    it('a where filter reports tickets that change under it', async () => {
      const { h, admin, pending } = get();
      const uuid = pending[1] as string;
      const sub = await subscribe(h.url, WATCH, { where: { statusIn: ['PENDING', 'REJECTED'] } }, admin);
      open.push(sub);
      await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
      h.simulator.controls.changeTicketStatus(uuid, 'reject');
      const event = await sub.next(1000);
      expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: 'REJECTED' } });
    });
  });
});

describe('ticketUpdated: pushes', () => {
  suite(60_000, (get) => {
    it('an approval through the gateway reaches a subscriber before the next poll', async () => {
      const { h, admin, pending } = get();
      const uuid = pending[0] as string;
      const sub = await subscribe(h.url, WATCH, { uuids: [uuid] }, admin);
      open.push(sub);
      await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
      const polls = ticketPolls(h);
      const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
      expect(res.errors).toBeUndefined();
      const event = await sub.next(1000);
      expect(event.data).toMatchObject({
        ticketUpdated: { uuid, status: expect.stringMatching(/APPROVED$/) },
      });
      expect(ticketPolls(h)).toBe(polls);
    });

    it('needs a session and valid uuids', async () => {
      const { h } = get();
      const anonymous = await subscribe(h.url, WATCH, { uuids: ['a'.repeat(32)] });
      open.push(anonymous);
      expect((await anonymous.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(h.simulator.controls.requests).toHaveLength(0);
    });
  });
});

describe('ticketUpdated: each event is resolved afresh', () => {
  suite(
    100,
    (get) => {
      it('relations of later events are current, even after the operation budget of the opening request', async () => {
        const { h, admin, pending } = get();
        const uuid = pending[2] as string;
        const sub = await subscribe(
          h.url,
          `subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid status history { toStatus comment } } }`,
          { uuids: [uuid] },
          admin,
        );
        open.push(sub);
        await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
        h.simulator.controls.changeTicketStatus(uuid, 'reject');
        const first = await sub.next(2000);
        expect(first.errors).toBeUndefined();
        const started = Date.now();
        await waitFor(() => Date.now() - started > 400, 'the opening request budget (300 ms) to pass');
        h.simulator.controls.changeTicketStatus(uuid, 'reopen');
        const second = await sub.next(2000);
        expect(second.errors).toBeUndefined();
        // biome-ignore lint/suspicious/noExplicitAny: event payload
        const history = (second.data as any).ticketUpdated.history.map(
          (row: { toStatus: string }) => row.toStatus,
        );
        expect(history.slice(-2)).toEqual(['REJECTED', 'PENDING']);
      });
    },
    { OPERATION_TIMEOUT_MS: '300' },
  );
});
