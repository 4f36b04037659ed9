import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
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

describe('ticketUpdated: polling shared per session', () => {
  suite(250, (get) => {
    it('N subscribers of one session cost one upstream poll per interval; leaving stops the polling', async () => {
      const { h, admin, pending } = get();
      const uuids = pending.slice(0, 3);
      for (let i = 0; i < 5; i++) open.push(await subscribe(h.url, WATCH, { uuids }, admin));
      await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
      const start = ticketPolls(h);
      const t0 = Date.now();
      await waitFor(() => Date.now() - t0 >= 1000, 'four intervals');
      const polls = ticketPolls(h) - start;
      // One poll per 250 ms interval over 1 s: about 4, where one poll per subscriber would be 20.
      expect(polls).toBeGreaterThanOrEqual(2);
      expect(polls).toBeLessThanOrEqual(6);
      const batched = h.simulator.controls.requests.filter((r) => r.path.endsWith('/v1/tickets'));
      expect(decodeURIComponent(batched.at(-1)?.query ?? '')).toContain(`uuid?=${uuids.join(',')}`);

      for (const s of open) s.close();
      open = [];
      const t1 = Date.now();
      await waitFor(() => Date.now() - t1 >= 150, 'the loop to notice');
      const after = ticketPolls(h);
      const t2 = Date.now();
      await waitFor(() => Date.now() - t2 >= 700, 'three more intervals');
      expect(ticketPolls(h)).toBe(after);
    });

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
