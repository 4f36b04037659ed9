import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { ticketPolls, useManualFeedHarness } from '../helpers/feed-calls.js';
import { type Harness, pendingTicketUuids, startHarness } from '../helpers/harness.js';
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
    admin = await h.adminSession();
    pending = pendingTicketUuids(h.simulator);
    c.clearRequests();
  });
  body(() => ({ h, admin, pending }));
}

let open: SseSubscription[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe('ticketUpdated: one upstream query per session per interval (manual clock)', () => {
  const fx = useManualFeedHarness();
  const { manual, tick } = fx;
  let h: Harness;
  let admin: string;
  beforeAll(() => {
    ({ h, admin } = fx);
  });

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

describe('ticketUpdated: caps per account and per client address', () => {
  // Polls only when the test advances it: every upstream request is the test's own.
  const manual = createManualTimer();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '60000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '3',
        MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT: '4',
        MAX_CONNECTIONS_PER_CLIENT: '20',
        MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT: '6',
      },
      deps: { feedTimer: manual.timer },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    for (const s of open) s.close();
    open = [];
    await waitFor(() => h.gateway.feed.size === 0, 'every stream to close');
  });

  async function watch(session: string, name: string, from?: string) {
    const sub = await subscribe(h.url, WATCH, { where: { name } }, session, from);
    open.push(sub);
    return sub;
  }

  const refusal = async (sub: SseSubscription) => (await sub.next()).errors?.[0]?.extensions;

  it('one account over several sessions: SUBSCRIPTION_LIMIT_EXCEEDED scope account, no upstream call; another account still subscribes', async () => {
    const c = h.simulator.controls;
    const admin = { accountName: c.demo.admin.accountName, password: c.demo.admin.password };
    const sessions = [await h.logIn(admin), await h.logIn(admin), await h.logIn(admin)];
    for (let i = 0; i < 3; i++) await watch(sessions[0] as string, `a${i}`);
    await watch(sessions[1] as string, 'b0');
    await waitFor(() => h.gateway.feed.size === 4, 'four streams of one account');
    const before = c.requests.length;
    for (const session of sessions.slice(1)) {
      expect(await refusal(await watch(session as string, 'over'))).toMatchObject({
        code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
        scope: 'account',
        limit: 4,
      });
    }
    expect(c.requests.length).toBe(before);
    const approver = c.demo.approvers[0] as { name: string; password: string };
    const carol = await h.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: approver.name,
      password: approver.password,
    });
    await watch(carol, 'c0');
    await waitFor(() => h.gateway.feed.size === 5, "another account's stream");
    // A stream that ends gives its account's slot back.
    open[0]?.close();
    await waitFor(() => h.gateway.feed.size === 4, 'one stream to close');
    await watch(sessions[2] as string, 'again');
    await waitFor(() => h.gateway.feed.size === 5, 'the freed slot taken');
  });

  it('one client address: SUBSCRIPTION_LIMIT_EXCEEDED scope client; another address still subscribes', async () => {
    const c = h.simulator.controls;
    // Three accounts, two streams each: no account is near its cap, the address is at its.
    const sessions = [
      await h.logIn({ accountName: c.demo.admin.accountName, password: c.demo.admin.password }),
    ];
    const approver = c.demo.approvers[0] as { name: string; password: string };
    sessions.push(
      await h.logIn({ kind: 'IAM2_VIRTUAL_ID', virtualIdName: approver.name, password: approver.password }),
    );
    const { accountName, userName, password } = c.demo.user as NonNullable<typeof c.demo.user>;
    sessions.push(await h.logIn({ kind: 'USER', accountName, userName, password }));
    let opened = 0;
    for (const session of sessions) {
      for (let i = 0; i < 2 && opened < 6; i++, opened++) await watch(session, `s${opened}`, '127.0.0.2');
    }
    await waitFor(() => h.gateway.feed.size === 6, 'six streams from one address');
    const last = sessions[sessions.length - 1] as string;
    expect(await refusal(await watch(last, 'over', '127.0.0.2'))).toMatchObject({
      code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
      scope: 'client',
      limit: 6,
    });
    await watch(last, 'elsewhere', '127.0.0.3');
    await waitFor(() => h.gateway.feed.size === 7, 'a stream from another address');
  });
});

describe('ticketUpdated: caps, pushes to matching sessions only, one bad ticket, draining', () => {
  const manual = createManualTimer();
  let h: Harness;
  let admin: string;
  let carol: string;
  let pendingUuids: string[];
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '60000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '3',
        MAX_TICKET_SUBSCRIPTIONS: '5',
      },
      deps: { feedTimer: manual.timer },
    });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    const c = h.simulator.controls;
    c.reset();
    admin = await h.adminSession();
    const approver = c.demo.approvers[0] as { name: string; password: string };
    carol = await h.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: approver.name,
      password: approver.password,
    });
    pendingUuids = pendingTicketUuids(h.simulator);
    c.clearRequests();
  });
  afterEach(async () => {
    for (const s of open) s.close();
    open = [];
    await waitFor(() => h.gateway.feed.size === 0, 'every stream to close');
  });

  const pollsOf = (session: string) =>
    h.simulator.controls.requests.filter(
      (r) =>
        r.method === 'GET' &&
        r.path.endsWith('/v1/tickets') &&
        r.headers.authorization === `OAuth ${session}`,
    ).length;

  async function watch(session: string, variables: Record<string, unknown>) {
    const sub = await subscribe(h.url, WATCH, variables, session);
    open.push(sub);
    return sub;
  }

  it('past MAX_TICKET_SUBSCRIPTIONS_PER_SESSION and MAX_TICKET_SUBSCRIPTIONS: SUBSCRIPTION_LIMIT_EXCEEDED, no upstream call', async () => {
    for (let i = 0; i < 3; i++) await watch(admin, { where: { name: `t${i}` } });
    await waitFor(() => h.gateway.feed.size === 3, 'three streams');
    const before = h.simulator.controls.requests.length;
    const fourth = await watch(admin, { where: { name: 't3' } });
    expect((await fourth.next()).errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
      scope: 'session',
      limit: 3,
    });
    expect(h.simulator.controls.requests.length).toBe(before);
    await watch(carol, { where: { name: 'c0' } });
    await watch(carol, { where: { name: 'c1' } });
    await waitFor(() => h.gateway.feed.size === 5, 'five streams');
    const sixth = await watch(carol, { where: { name: 'c2' } });
    expect((await sixth.next()).errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
      scope: 'total',
      limit: 5,
    });
  });

  it("a mutation pushes to its own session's matching streams; only sessions whose streams match the ticket refresh", async () => {
    const [x, y] = pendingUuids as [string, string];
    const own = await watch(admin, { uuids: [x] });
    await watch(carol, { uuids: [x] }); // matches the changed ticket: refreshes early
    await waitFor(() => h.gateway.feed.size === 2, 'two streams');
    manual.advance(0);
    await waitFor(
      () => pollsOf(admin) === 1 && pollsOf(carol) === 1 && manual.pending === 2,
      'the first polls',
    );

    // A third session watching another ticket only: it must not poll because of this mutation.
    const bob = h.simulator.controls.demo.approvers[1] as { name: string; password: string };
    const dave = await h.logIn({ kind: 'IAM2_VIRTUAL_ID', virtualIdName: bob.name, password: bob.password });
    await watch(dave, { uuids: [y] });
    await waitFor(() => h.gateway.feed.size === 3, 'three streams');
    manual.advance(0);
    await waitFor(() => pollsOf(dave) === 1 && manual.pending === 3, "dave's first poll");

    const res = await h.gql(CHANGE, { input: { uuid: x, statusEvent: 'REJECT' } }, { session: admin });
    expect(res.errors).toBeUndefined();
    const event = await own.next(2000);
    expect(event.data).toMatchObject({ ticketUpdated: { uuid: x, status: 'REJECTED' } });
    expect(pollsOf(admin)).toBe(1); // pushed, not polled

    manual.advance(1000); // the woken session's early refresh, well before the 60 s interval
    await waitFor(() => pollsOf(carol) === 2, "carol's early refresh");
    expect(pollsOf(dave)).toBe(1);
    expect(pollsOf(admin)).toBe(1);
  });

  it('a ticket ZStack returns with a pathological apiBody does not stop the other tickets of the feed', async () => {
    const [x, y] = pendingUuids as [string, string];
    const c = h.simulator.controls;
    const sub = await subscribe(
      h.url,
      'subscription { ticketUpdated(where: { statusIn: [REJECTED] }) { uuid status request { apiBody } } }',
      {},
      admin,
    );
    open.push(sub);
    await waitFor(() => h.gateway.feed.size === 1, 'the stream');
    manual.advance(0);
    await waitFor(() => pollsOf(admin) === 1 && manual.pending === 1, 'the baseline poll');

    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 4000; i++) deep = { a: deep };
    const request = ((c.getTicket(x)?.request ?? []) as Record<string, unknown>[])[0];
    c.setTicketField(x, 'request', [{ ...request, apiBody: deep }]);
    c.changeTicketStatus(x, 'reject');
    c.changeTicketStatus(y, 'reject');
    manual.advance(60_000);
    await waitFor(() => pollsOf(admin) === 2, 'the next poll');
    const events = [await sub.next(3000)];
    events.push(await sub.next(3000));
    // biome-ignore lint/suspicious/noExplicitAny: event payloads
    const byUuid = new Map(events.map((e) => [(e.data as any)?.ticketUpdated?.uuid ?? 'error', e]));
    expect(byUuid.get(y)?.data).toMatchObject({ ticketUpdated: { uuid: y, status: 'REJECTED' } });
    expect(byUuid.get(y)?.errors).toBeUndefined();
    expect(byUuid.size).toBe(2);
  });

  it('app.drain() ends every open subscription with complete, and new ones end at once', async () => {
    const first = await subscribeRaw(h.url, admin);
    const second = await subscribeRaw(h.url, carol);
    await waitFor(() => h.gateway.feed.size === 2, 'two streams');
    h.app.drain();
    expect(await first.ended).toContain('event: complete');
    expect(await second.ended).toContain('event: complete');
    expect(h.gateway.feed.size).toBe(0);
    const late = await subscribeRaw(h.url, admin);
    expect(await late.ended).toContain('event: complete');
    expect(h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' })).toBe(0);
  });
});

/** A subscription whose raw SSE text resolves `ended` when the server ends the stream. */
async function subscribeRaw(url: string, session: string): Promise<{ ended: Promise<string> }> {
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `OAuth ${session}`,
    },
    body: JSON.stringify({ query: WATCH, variables: { where: { name: 'anything' } } }),
  });
  expect(res.statusCode).toBe(200);
  return { ended: res.body.text() };
}
