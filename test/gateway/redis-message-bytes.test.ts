/**
 * REDIS_MAX_MESSAGE_BYTES with two gateways on a real redis-server: a ticket too large for one
 * pub/sub message travels as a reference, the other instance re-reads it from ZStack, and its
 * streams still get the change; no message published passes the bound.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/live/cluster.js';
import { nextPollLimit } from '../../src/live/ticket-feed.js';
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

/** Every message published on Redis, as its channel and text. */
async function listen(): Promise<{ channel: string; text: string }[]> {
  const heard: { channel: string; text: string }[] = [];
  spy = new Redis(fx.redis.url);
  spy.on('pmessage', (_p: string, channel: string, text: string) => heard.push({ channel, text }));
  await spy.psubscribe('*');
  return heard;
}

const sizes = (heard: { text: string }[]) => heard.map((m) => Buffer.byteLength(m.text));
const big = (n: number) => 'x'.repeat(n);

describe.skipIf(skipRedisTests)('REDIS_MAX_MESSAGE_BYTES', () => {
  it("a mutation's ticket over the bound reaches the other instance's stream, whole, re-read from ZStack", async () => {
    fx.simulator.controls.reset();
    const [a, b] = await startTwo({ TICKET_POLL_INTERVAL_MS: '60000' });
    const { submitters, projectUuid } = fx.simulator.controls.demo;
    const alice = submitters[0] as { name: string; password: string; uuid: string };
    const session = await a.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: alice.name,
      password: alice.password,
    });
    const heard = await listen();
    const sub = await subscribe(b.url, WATCH, { where: { statusIn: ['PENDING'] } }, session);
    fx.streams.push(sub);
    await waitFor(() => b.gateway.feed.size === 1, 'the stream on B');
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
    const feed = heard.filter((m) => m.channel.endsWith('feed'));
    expect(feed.some((m) => m.text.includes('"partial":true') && m.text.includes(uuid))).toBe(true);
    expect(Math.max(...sizes(heard))).toBeLessThanOrEqual(MAX);
  });

  it("a poll's changes over the bound name the big tickets; the other instance's streams get them", async () => {
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
    const heard = await listen();
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
    const changes = heard.filter((m) => m.text.includes('"kind":"changes"') && m.text.includes('"refs":["'));
    expect(changes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes(heard))).toBeLessThanOrEqual(MAX);
  });
});

describe('encode and nextPollLimit', () => {
  const ticket = (uuid: string, description: string) =>
    ({ uuid, name: 'n', status: 'Pending', lastOpDate: 'Dec 4, 2026 1:00:00 PM', description }) as never;

  it('a message within the bound is sent as it is', () => {
    const m = { kind: 'ticket', key: 'k', ticket: ticket('a'.repeat(32), 'small') } as const;
    expect(JSON.parse(encode(m, 'me', MAX))).toEqual({ ...m, from: 'me' });
  });

  it("a mutation's ticket over the bound goes as the fields filters read, marked partial", () => {
    const m = { kind: 'ticket', key: 'k', ticket: ticket('a'.repeat(32), big(MAX)) } as const;
    const text = encode(m, 'me', MAX);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX);
    expect(JSON.parse(text)).toEqual({
      kind: 'ticket',
      key: 'k',
      partial: true,
      from: 'me',
      ticket: { uuid: 'a'.repeat(32), name: 'n', status: 'Pending', lastOpDate: 'Dec 4, 2026 1:00:00 PM' },
    });
  });

  it("a poll's changes keep whole tickets in order while they fit, and name the rest", () => {
    const tickets = ['a', 'b', 'c', 'd'].map((c) => ticket(c.repeat(32), big(50_000)));
    const m = {
      kind: 'changes',
      key: 'k',
      since: 's',
      tickets,
      atSince: [['e'.repeat(32), 'digest']],
    } as const;
    const text = encode(m as never, 'me', MAX);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX);
    const sent = JSON.parse(text);
    expect(sent.tickets.map((t: { uuid: string }) => t.uuid)).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
    expect(sent.refs).toEqual(['c'.repeat(32), 'd'.repeat(32)]);
    expect(sent.atSince).toEqual([['e'.repeat(32), 'digest']]);
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
