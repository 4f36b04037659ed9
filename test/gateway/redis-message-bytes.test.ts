/**
 * The shared log's entries with two gateways on a real redis-server: a ticket of any size travels
 * as its uuid and state digest, never its data (no `apiBody`), each entry is small and bounded, and
 * the other instance reads the ticket from ZStack, so its streams get it whole.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { nextFeedPollDelayMs, nextPollLimit, pollLeaseMs } from '../../src/live/feed-schedule.js';
import { MAX_ENTRY_BYTES, parseEntry, splitEntry } from '../../src/live/shared-log.js';
import type { Harness } from '../helpers/harness.js';
import { skipRedisTests } from '../helpers/redis.js';
import { useRedisFixture } from '../helpers/redis-gateways.js';
import { subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const MAX = 128 * 1024;
const WATCH = `subscription($where: TicketWhere) {
  ticketUpdated(where: $where) { uuid status description request { requestName } }
}`;
const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { uuid } } }`;

const fx = useRedisFixture();
let spy: Redis | undefined;
afterEach(async () => {
  await spy?.quit();
  spy = undefined;
});

async function startTwo(env: Record<string, string>): Promise<[Harness, Harness]> {
  return (await fx.start(2, { REDIS_MAX_MESSAGE_BYTES: String(MAX), ...env })) as [Harness, Harness];
}

/** Every entry of this test's shared log (its text as stored: signature, dot, JSON). */
async function logEntries(): Promise<string[]> {
  spy ??= new Redis(fx.redis.url);
  const entries = await spy.xrange(`${fx.prefix}feed`, '-', '+');
  return entries.map(([, fields]) => fields[1] as string);
}

const pollsOf = (session: string) =>
  fx.simulator.controls.requests.filter(
    (r) => r.path.endsWith('/v1/tickets') && r.headers.authorization === `OAuth ${session}`,
  ).length;
const sizes = (texts: string[]) => texts.map((t) => Buffer.byteLength(t));
const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('.') + 1));
const big = (n: number) => 'x'.repeat(n);

describe.skipIf(skipRedisTests)('REDIS_MAX_MESSAGE_BYTES', () => {
  it("a mutation's big ticket reaches the other instance's stream whole, read from ZStack; the log holds only its digest", async () => {
    fx.simulator.controls.reset();
    const [a, b] = await startTwo({ TICKET_POLL_INTERVAL_MS: '60000' });
    const { submitters, projectUuid } = fx.simulator.controls.demo;
    const alice = submitters[0] as { name: string; password: string; uuid: string };
    const session = await a.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: alice.name,
      password: alice.password,
    });
    const sub = await subscribe(b.url, WATCH, { where: { statusIn: ['PENDING'] } }, session);
    fx.streams.push(sub);
    await waitFor(() => b.gateway.feed.size === 1, 'the stream on B');
    // B's first poll of the session is its starting point: a change made before it is its baseline.
    await waitFor(() => pollsOf(session) === 1, "the session's first poll");
    const res = await a.gql<{ createTicket: { ticket: { uuid: string } } }>(
      CREATE,
      {
        input: {
          name: 'big',
          accountSystemType: 'iam2',
          accountSystemContext: { projectUuid, virtualIDUuid: alice.uuid },
          requests: [
            {
              requestName: 'r1',
              apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
              apiBody: { pad: big(200_000) },
            },
          ],
        },
      },
      { session },
    );
    expect(res.errors).toBeUndefined();
    const uuid = res.data?.createTicket.ticket.uuid as string;
    const event = await sub.next();
    expect(event.data).toMatchObject({
      ticketUpdated: { uuid, status: 'PENDING', request: [{ requestName: 'r1' }] },
    });
    const texts = await logEntries();
    expect(texts.some((t) => bodyOf(t).kind === 'mutation' && t.includes(uuid))).toBe(true);
    expect(texts.join('\n')).not.toContain('xxxxxxxx');
    expect(texts.join('\n')).not.toContain('apiBody');
    console.info(`log entries for a ticket with a 200 KB apiBody: ${sizes(texts).join(', ')} bytes`);
    expect(Math.max(...sizes(texts))).toBeLessThanOrEqual(MAX_ENTRY_BYTES + 64);
  });

  it("a poll's big changes go into the log as digests; the other instance's streams get them whole", async () => {
    fx.simulator.controls.reset();
    const intervalMs = 200;
    const [a, b] = await startTwo({ TICKET_POLL_INTERVAL_MS: String(intervalMs) });
    const { admin } = fx.simulator.controls.demo;
    const session = await a.logIn({
      kind: 'ACCOUNT',
      accountName: admin.accountName,
      password: admin.password,
    });
    const where = { where: { statusIn: ['PENDING', 'REJECTED'] } };
    // A's stream first: A takes the session's poll lease; B's stream then only hears A's results.
    const onA = await subscribe(a.url, WATCH, where, session);
    fx.streams.push(onA);
    await waitFor(() => a.gateway.feed.size === 1, 'the stream on A');
    const onB = await subscribe(b.url, WATCH, where, session);
    fx.streams.push(onB);
    await waitFor(() => b.gateway.feed.size === 1, 'the stream on B');
    // Each instance's first poll is its own (its starting point); changes come after it.
    await waitFor(() => pollsOf(session) >= 2, "A's and B's first polls");
    const pending = fx.simulator.controls.listTickets().filter((t) => t.status === 'Pending');
    const [t1, t2] = pending.map((t) => t.uuid as string) as [string, string];
    // Two changes at ZStack, each ticket alone larger than half the bound: not both fit in one message.
    fx.simulator.controls.setTicketField(t1, 'description', big(80_000));
    fx.simulator.controls.setTicketField(t2, 'description', big(80_000));
    fx.simulator.controls.changeTicketStatus(t1, 'reject');
    fx.simulator.controls.changeTicketStatus(t2, 'reject');
    const got = new Set<string>();
    while (got.size < 2) {
      const event = (await onB.next(intervalMs * 10)) as {
        data: { ticketUpdated: { uuid: string; status: string; description: string } };
      };
      expect(event.data.ticketUpdated.status).toBe('REJECTED');
      expect(event.data.ticketUpdated.description).toHaveLength(80_000);
      got.add(event.data.ticketUpdated.uuid);
    }
    expect(got).toEqual(new Set([t1, t2]));
    const texts = await logEntries();
    const polls = texts.map(bodyOf).filter((e) => e.kind === 'poll' && e.changes.length > 0);
    expect(polls.flatMap((e) => e.changes.map((c: { uuid: string }) => c.uuid))).toEqual(
      expect.arrayContaining([t1, t2]),
    );
    expect(texts.join('\n')).not.toContain('xxxxxxxx');
    expect(Math.max(...sizes(texts))).toBeLessThanOrEqual(MAX_ENTRY_BYTES + 64);
  });
});

describe('log entries and nextPollLimit', () => {
  const change = (c: string, name = 'n') => ({
    uuid: c.repeat(32),
    fp: 'f'.repeat(22),
    status: 'Pending',
    name,
    lastOpDate: 'Dec 4, 2026 1:00:00 PM',
  });

  it('a small entry is one text, read back as it was', () => {
    const entry = { key: 'k', kind: 'poll' as const, since: '2026-12-04 13:00:00', changes: [change('a')] };
    const [text, ...more] = splitEntry(entry, 'me');
    expect(more).toEqual([]);
    expect(parseEntry(JSON.parse(text as string))).toEqual({ ...entry, from: 'me' });
  });

  it("a poll's many changes are split, in order, each text within MAX_ENTRY_BYTES, the watermark on the last only", () => {
    const changes = Array.from({ length: 400 }, (_, i) =>
      change(String.fromCharCode(97 + (i % 26)), `n${i}`),
    );
    const texts = splitEntry({ key: 'k', kind: 'poll', since: '2026-12-04 13:00:00', changes }, 'me');
    expect(texts.length).toBeGreaterThan(1);
    for (const t of texts) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    const read = texts.map((t) => parseEntry(JSON.parse(t)));
    expect(read.flatMap((e) => e?.changes.map((c) => c.name))).toEqual(changes.map((c) => c.name));
    expect(read.map((e) => e?.since)).toEqual([
      ...texts.slice(1).map(() => undefined),
      '2026-12-04 13:00:00',
    ]);
  });

  it('a filter field too long to carry is left out and the change marked partial', () => {
    const [text] = splitEntry({ key: 'k', kind: 'mutation', changes: [change('a', big(5000))] }, 'me');
    expect(parseEntry(JSON.parse(text as string))?.changes[0]).toEqual({
      uuid: 'a'.repeat(32),
      fp: 'f'.repeat(22),
      status: 'Pending',
      lastOpDate: 'Dec 4, 2026 1:00:00 PM',
      partial: true,
    });
  });

  it.each([
    [{ from: 'x', key: 'k', kind: 'ticket', changes: [] }],
    [{ from: 'x', key: 'k', kind: 'poll', since: '2099', changes: [] }],
    [{ from: 'x', key: 'k', kind: 'poll', changes: [{ uuid: '../x', fp: 'f' }] }],
    [{ from: 'x', key: 'k', kind: 'poll', changes: [{ uuid: 'a', fp: 'f', status: 1 }] }],
    [{ key: 'k', kind: 'poll', changes: [] }],
  ])('%j is not an entry', (m) => {
    expect(parseEntry(m)).toBeUndefined();
  });

  it.each([
    // [what, state, delay]
    ['first poll', { lastPollAtMs: undefined }, 0],
    ['one interval after the last', {}, 5000],
    ['woken by another session (alone)', { woken: true }, 1000],
    ['the lease elsewhere runs out before the interval', { leaseFreeInMs: 300 }, 305],
    ['the lease elsewhere runs out after the interval', { leaseFreeInMs: 6000 }, 5000],
    ['Redis answers again: catch up at once', { catchUp: true, leaseFreeInMs: 6000 }, 0],
  ])('next poll: %s', (_what, state, delay) => {
    const base = { nowMs: 10_000, lastPollAtMs: 10_000, intervalMs: 5000, woken: false };
    expect(nextFeedPollDelayMs({ ...base, ...state })).toBe(delay);
  });

  it('a lease outlives its holder by one second past the interval', () => {
    expect(pollLeaseMs(5000)).toBe(6000);
  });

  it.each([
    [500, true, 250],
    [1, true, 1],
    [250, false, 500],
    [500, false, 500],
  ])('after a poll at %d (too large: %s) the next asks for %d', (limit, tooLarge, next) => {
    expect(nextPollLimit(limit, tooLarge)).toBe(next);
  });
});
