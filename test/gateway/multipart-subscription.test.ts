import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type Harness, pendingTicketUuids, startHarness } from '../helpers/harness.js';
import { createManualTimer } from '../helpers/manual-timer.js';
import {
  APOLLO_SUBSCRIPTION_ACCEPT,
  type MultipartStream,
  subscribeMultipart,
} from '../helpers/multipart.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Apollo's multipart HTTP protocol for subscriptions (what Apollo Client's HttpLink sends), spoken
 * raw: the framing, heartbeats, the stream's own failure, refusals, the slow-reader cut and drain.
 */

const WATCH = `subscription Watch($uuids: [ID!], $where: TicketWhere) {
  ticketUpdated(uuids: $uuids, where: $where) { uuid status }
}`;
const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;
const PART_HEADERS = '\r\ncontent-type: application/json\r\n\r\n';

let open: (MultipartStream | SseSubscription)[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe('multipart subscriptions (manual feed and heartbeat clocks)', () => {
  const feedClock = createManualTimer();
  const heartbeats = createManualTimer();
  let h: Harness;
  let admin: string;
  let pending: string[];
  beforeAll(async () => {
    h = await startHarness({
      env: {
        LOG_LEVEL: 'info',
        TICKET_POLL_INTERVAL_MS: '1000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '2',
        GRAPHQL_MAX_ALIASES: '2',
      },
      deps: { feedTimer: feedClock.timer, heartbeatTimer: heartbeats.timer },
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
  afterEach(async () => {
    for (const s of open) s.close();
    open = [];
    await waitFor(() => h.gateway.feed.size === 0, 'the streams to close');
  });

  const polls = () => h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' });
  async function watch(variables: Record<string, unknown>, session = admin): Promise<MultipartStream> {
    const before = h.gateway.feed.size;
    const s = await subscribeMultipart(h.url, WATCH, variables, session);
    open.push(s);
    expect(s.status).toBe(200);
    await waitFor(() => h.gateway.feed.size === before + 1, 'the stream to open');
    return s;
  }

  it('answers with multipart/mixed, boundary graphql: the approval through the gateway is one {payload} part', async () => {
    const uuid = pending[0] as string;
    const s = await watch({ uuids: [uuid] });
    expect(s.contentType).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors).toBeUndefined();
    const part = await s.next();
    expect(part).toEqual({ payload: { data: { ticketUpdated: { uuid, status: 'INTERMEDIATE_APPROVED' } } } });
    // Framing: the opening delimiter, then each part ends with the delimiter (parsed at once).
    expect(s.raw).toBe(
      `\r\n--graphql${PART_HEADERS}${JSON.stringify({ payload: { data: { ticketUpdated: { uuid, status: 'INTERMEDIATE_APPROVED' } } } })}\r\n--graphql`,
    );
  });

  it('a change made at ZStack reaches the stream at the next poll', async () => {
    const uuid = pending[1] as string;
    const s = await watch({ where: { statusIn: ['PENDING', 'REJECTED'] } });
    feedClock.advance(0);
    await waitFor(() => polls() === 1 && feedClock.pending === 1, 'the baseline poll');
    h.simulator.controls.changeTicketStatus(uuid, 'reject');
    feedClock.advance(1000);
    expect(await s.nextEvent()).toMatchObject({
      payload: { data: { ticketUpdated: { uuid, status: 'REJECTED' } } },
    });
  });

  it('sends a {} heartbeat after 5 s of silence, none while events flow', async () => {
    const uuid = pending[0] as string;
    const s = await watch({ uuids: [uuid] });
    heartbeats.advance(4999);
    expect(s.pending).toBe(0);
    heartbeats.advance(1);
    expect(await s.next()).toEqual({});
    heartbeats.advance(5000);
    expect(await s.next()).toEqual({});
    // An event re-arms it: 4 s after the event, nothing yet.
    heartbeats.advance(1000);
    await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
    expect(await s.next()).toMatchObject({
      payload: { data: { ticketUpdated: { status: 'INTERMEDIATE_APPROVED' } } },
    });
    heartbeats.advance(4000);
    expect(s.pending).toBe(0);
    s.close();
    await waitFor(() => h.gateway.feed.size === 0, 'the stream to close');
    // The client went away: its heartbeat timer went with it.
    expect(heartbeats.pending).toBe(0);
  });

  it('a stream whose session expires ends with {payload: null, errors} (UNAUTHENTICATED) and the closing boundary', async () => {
    const s = await watch({ where: { statusIn: ['PENDING'] } });
    feedClock.advance(0);
    await waitFor(() => polls() === 1 && feedClock.pending === 1, 'the baseline poll');
    h.simulator.controls.expireSession(admin);
    feedClock.advance(1000);
    const part = await s.next();
    expect(part.payload).toBeNull();
    expect(part.errors).toHaveLength(1);
    expect(part.errors[0].extensions.code).toBe(ErrorCode.UNAUTHENTICATED);
    const raw = await s.ended;
    expect(raw.endsWith('\r\n--graphql--\r\n')).toBe(true);
    expect(raw).not.toContain(admin);
    expect(heartbeats.pending).toBe(0);
  });

  it('without a session: UNAUTHENTICATED as one JSON answer, and ZStack is never asked', async () => {
    const s = await subscribeMultipart(h.url, WATCH, { uuids: [pending[0]] });
    open.push(s);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^application\/json/);
    expect(s.json?.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(h.simulator.controls.requests).toHaveLength(0);
    expect(h.gateway.feed.size).toBe(0);
  });

  it('a client that accepts only multipart gets the refusal as one {payload} part', async () => {
    const s = await subscribeMultipart(h.url, WATCH, { uuids: [pending[0]] }, undefined, {
      accept: 'multipart/mixed;subscriptionSpec="1.0"',
    });
    open.push(s);
    const part = await s.next();
    expect(part.payload.errors[0].extensions.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(await s.ended).toMatch(/\r\n--graphql--\r\n$/);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('streams count against the same caps as SSE: past MAX_TICKET_SUBSCRIPTIONS_PER_SESSION, refused before any upstream call', async () => {
    const sse = await subscribe(h.url, WATCH, { uuids: [pending[0]] }, admin);
    open.push(sse);
    await waitFor(() => h.gateway.feed.size === 1, 'the SSE stream');
    await watch({ uuids: [pending[1]] });
    const third = await subscribeMultipart(h.url, WATCH, { uuids: [pending[2]] }, admin);
    open.push(third);
    expect(third.json?.errors?.[0]?.extensions).toEqual({
      code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
      limit: 2,
      scope: 'session',
    });
    expect(h.gateway.feed.size).toBe(2);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('the limits apply: a document past GRAPHQL_MAX_ALIASES is refused before any upstream call', async () => {
    const s = await subscribeMultipart(
      h.url,
      'subscription { ticketUpdated(where: {}) { a: uuid b: uuid c: uuid } }',
      {},
      admin,
    );
    open.push(s);
    expect(s.json?.errors?.[0]?.extensions?.code).toBe(ErrorCode.ALIAS_LIMIT_EXCEEDED);
    expect(h.gateway.feed.size).toBe(0);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('app.drain() completes every stream with the closing boundary; a new one ends at once', async () => {
    const a = await watch({ uuids: [pending[0]] });
    const b = await watch({ uuids: [pending[1]] });
    h.app.drain();
    expect(await a.ended).toBe('\r\n--graphql--\r\n');
    expect(await b.ended).toBe('\r\n--graphql--\r\n');
    expect(h.gateway.feed.size).toBe(0);
    const late = await subscribeMultipart(h.url, WATCH, { uuids: [pending[2]] }, admin);
    expect(await late.ended).toBe('\r\n--graphql--\r\n');
    expect(polls()).toBe(0);
    expect(heartbeats.pending).toBe(0);
  });
});

describe('multipart: queries, mutations and the request log', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC' } });
    admin = await h.adminSession();
  });
  afterAll(() => h.close());

  it("a query with Apollo's subscription Accept is answered as JSON (the client accepts it)", async () => {
    const res = await request(h.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: APOLLO_SUBSCRIPTION_ACCEPT,
        authorization: `OAuth ${admin}`,
      },
      body: JSON.stringify({ query: 'query Pending { tickets(first: 1) { nodes { uuid } } }' }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = (await res.body.json()) as { data?: { tickets: { nodes: unknown[] } } };
    expect(body.data?.tickets.nodes).toHaveLength(1);
  });

  it('one log line per stream, entry multipart, with its operation and the code its client saw', async () => {
    const c = h.simulator.controls;
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const s = await subscribeMultipart(h.url, WATCH, { uuids: [uuid] }, admin, { operationName: 'Watch' });
    await waitFor(() => h.gateway.feed.size === 1, 'the stream');
    s.close();
    const watchLine = (l: string) => l.includes('"entry":"multipart"') && l.includes('"operation":"Watch"');
    await waitFor(() => h.logs.some(watchLine), 'the log line');
    const line = JSON.parse(h.logs.find(watchLine) as string);
    expect(line).toMatchObject({
      msg: 'request',
      status: 200,
      operation: 'Watch',
      code: 'OK',
      aborted: true,
    });
    expect(h.logs.join('\n')).not.toContain(admin);
  });

  it('a JSON-only POST of a subscription is still 406, naming both stream types', async () => {
    const res = await h.gql(WATCH, { uuids: [] }, { session: admin });
    expect(res.status).toBe(406);
    expect(res.errors?.[0]?.extensions?.code).toBe(ErrorCode.NOT_ACCEPTABLE);
    expect(res.errors?.[0]?.message).toContain('multipart/mixed;subscriptionSpec=1.0');
  });
});

/** Each event carries this many bytes of description. */
const EVENT_BYTES = 512 * 1024;
/** Far more than the loopback's socket buffers hold (a few MB each way). */
const MAX_EVENTS = 80;

describe('a multipart stream whose client does not read', () => {
  const feedClock = createManualTimer();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        LOG_LEVEL: 'info',
        TICKET_POLL_INTERVAL_MS: '1000',
        ZSTACK_TIME_ZONE: 'UTC',
        STREAM_MAX_BUFFERED_BYTES: String(64 * 1024),
      },
      deps: { feedTimer: feedClock.timer },
    });
  });
  afterAll(() => h.close());

  it('is cut once more than STREAM_MAX_BUFFERED_BYTES wait unsent; a reading stream keeps its events', async () => {
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const query = 'subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid description } }';
    const reader = await subscribeMultipart(h.url, query, { uuids: [uuid] }, session);
    const slow = await nonReader(Number(new URL(h.base).port), session, query, uuid);
    const polls = () => c.count({ method: 'GET', path: '/v1/tickets' });
    const cut = () => h.gateway.feed.size < 2;
    try {
      await waitFor(() => h.gateway.feed.size === 2, 'both streams');
      feedClock.advance(0);
      await waitFor(() => polls() === 1 && feedClock.pending === 1, 'the baseline poll');
      let events = 0;
      const base = Date.now();
      while (!cut() && events < MAX_EVENTS) {
        events++;
        c.setTicketField(uuid, 'description', `${events}:${'x'.repeat(EVENT_BYTES)}`);
        c.setTicketField(uuid, 'lastOpDate', base + events * 1000);
        feedClock.advance(1000);
        await waitFor(() => polls() === events + 1 && feedClock.pending === 1, `poll ${events + 1}`);
        const part = await reader.nextEvent(5000);
        expect(part.payload.data.ticketUpdated.description.startsWith(`${events}:`)).toBe(true);
      }
      expect(cut()).toBe(true);
      expect(events).toBeGreaterThan(1);
      slow.socket.resume();
      await slow.closed;
      expect(h.logs.some((l) => l.includes('stream cut: its client does not read'))).toBe(true);
    } finally {
      reader.close();
      slow.socket.destroy();
    }
  }, 60_000);
});

/** A multipart client that sends its subscription and never reads a byte of the answer. */
async function nonReader(
  port: number,
  session: string,
  query: string,
  uuid: string,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const body = JSON.stringify({ query, variables: { uuids: [uuid] } });
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nAccept: ${APOLLO_SUBSCRIPTION_ACCEPT}\r\nAuthorization: OAuth ${session}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return { socket, closed };
}
