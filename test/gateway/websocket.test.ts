import { ApolloClient, gql, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../../src/errors.js';
import { ticketPolls, useManualFeedHarness } from '../helpers/feed-calls.js';
import { type Harness, pendingTicketUuids, startHarness } from '../helpers/harness.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { type WsSubscription, wsClient, wsRequest, wsSubscribe } from '../helpers/ws.js';

const WATCH = `subscription($uuids: [ID!], $where: TicketWhere) {
  ticketUpdated(uuids: $uuids, where: $where) { uuid status }
}`;
const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;
const PENDING = '{ tickets(where: { statusIn: [PENDING] }, first: 5) { nodes { uuid status } } }';

let clients: Client[] = [];
let streams: (SseSubscription | WsSubscription)[] = [];
afterEach(async () => {
  for (const s of streams) s.close();
  streams = [];
  await Promise.all(clients.map((c) => c.dispose()));
  clients = [];
});

function client(h: Harness, options: Parameters<typeof wsClient>[1] = {}) {
  const c = wsClient(h.url, options);
  clients.push(c);
  return c;
}

function watch(c: Client, variables: Record<string, unknown>) {
  const sub = wsSubscribe(c, WATCH, variables);
  streams.push(sub);
  return sub;
}

/** A raw socket speaking graphql-transport-ws, for what the client library would not do. */
function rawSocket(h: Harness, headers: Record<string, string> = {}) {
  return new WebSocket(h.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
}

describe('GraphQL over WebSocket (graphql-transport-ws) on /graphql', () => {
  let h: Harness;
  let admin: string;
  let pending: string[];
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '60000',
        ZSTACK_TIME_ZONE: 'UTC',
        GRAPHQL_MAX_DEPTH: '4',
        WS_CONNECTION_INIT_TIMEOUT_MS: '200',
        LOG_LEVEL: 'info',
      },
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

  it("a subscription receives the approval made by another client's HTTP mutation", async () => {
    const uuid = pending[0] as string;
    const sub = watch(client(h, { session: admin }), { uuids: [uuid] });
    await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
    const polls = ticketPolls(h);
    const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors).toBeUndefined();
    const event = await sub.next();
    expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: expect.stringMatching(/APPROVED$/) } });
    // Pushed at once, not found by a poll.
    expect(ticketPolls(h)).toBe(polls);
  });

  it("Apollo Client 4 with GraphQLWsLink, at its defaults, receives another client's approval", async () => {
    const uuid = pending[1] as string;
    const ws = client(h, { session: admin });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
    const events: unknown[] = [];
    const subscription = apollo
      .subscribe({
        query: gql`subscription Watch($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { id uuid status } }`,
        variables: { uuids: [uuid] },
      })
      .subscribe({ next: (result) => events.push(result.data) });
    try {
      await waitFor(() => ticketPolls(h) >= 1, 'the first poll');
      const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
      expect(res.errors).toBeUndefined();
      await waitFor(() => events.length > 0, 'the approval');
      expect(events[0]).toMatchObject({
        ticketUpdated: { __typename: 'Ticket', uuid, status: expect.stringMatching(/APPROVED$/) },
      });
    } finally {
      subscription.unsubscribe();
      apollo.stop();
    }
  });

  it('the upgrade request’s Authorization header authenticates too', async () => {
    const sub = watch(client(h, { authorizationHeader: `Bearer ${admin}` }), { uuids: [pending[0]] });
    await waitFor(() => h.gateway.feed.size === 1, 'the stream to open');
    sub.close();
  });

  it('a query and a mutation over the socket; the mutation sends one PUT', async () => {
    const c = client(h, { session: admin });
    const listed = await wsRequest(c, PENDING);
    expect(listed.errors).toBeUndefined();
    const nodes = (listed.data?.tickets as { nodes: { uuid: string }[] } | undefined)?.nodes ?? [];
    expect(nodes.length).toBeGreaterThan(0);
    const uuid = nodes[0]?.uuid as string;
    h.simulator.controls.clearRequests();
    const changed = await wsRequest(c, CHANGE, { input: { uuid, statusEvent: 'REJECT' } });
    expect(changed.errors).toBeUndefined();
    expect(changed.data).toMatchObject({ changeTicketStatus: { ticket: { uuid, status: 'REJECTED' } } });
    expect(h.simulator.controls.count({ method: 'PUT' })).toBe(1);
    // One log line per operation, entry websocket.
    await waitFor(() => h.logs.some((l) => l.includes('"entry":"websocket"')), 'a websocket request line');
  });

  it('no session: UNAUTHENTICATED, and ZStack is never asked', async () => {
    const c = client(h);
    const sub = watch(c, { uuids: [pending[0]] });
    const result = await sub.next();
    expect(result.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    await sub.done;
    const query = await wsRequest(c, PENDING);
    expect(query.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    // A malformed header counts as none.
    const bad = client(h, { authorizationHeader: 'OAuth not-a-uuid' });
    const badQuery = await wsRequest(bad, PENDING);
    expect(badQuery.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('limits apply to a message as to a POST: a depth refusal, nothing sent upstream', async () => {
    const c = client(h, { session: admin });
    const deep = await wsRequest(c, '{ tickets(first: 1) { nodes { flowCollection { flows { uuid } } } } }');
    expect(deep.errors?.[0]?.extensions?.code).toBe(ErrorCode.DEPTH_LIMIT_EXCEEDED);
    const parse = await wsRequest(c, '{ tickets(');
    expect(parse.errors?.[0]?.extensions?.code).toBe(ErrorCode.GRAPHQL_PARSE_FAILED);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('a cost over GRAPHQL_MAX_COST with its variables counted is refused before any upstream call', async () => {
    const c = client(h, { session: admin });
    const res = await wsRequest(c, 'query($n: Int) { tickets(first: $n) { nodes { uuid } } }', {
      n: 1_000_000_000,
    });
    expect(res.errors?.[0]?.extensions?.code).toMatch(/COST_LIMIT_EXCEEDED|BAD_USER_INPUT/);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('a page of a foreign origin cannot open a socket (403 before the upgrade)', async () => {
    const ws = rawSocket(h, { origin: 'https://evil.example' });
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(403);
    expect(h.app.sockets).toBe(0);
  });

  it('other paths are not upgraded (404)', async () => {
    const ws = new WebSocket(`${h.base.replace(/^http/, 'ws')}/graphql/`, 'graphql-transport-ws');
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(404);
  });

  it('a socket that sends no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS is closed with 4408', async () => {
    const ws = rawSocket(h);
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(4408);
  });

  it('a message over MAX_BODY_BYTES closes the socket (1009)', async () => {
    const ws = rawSocket(h);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    ws.send('x'.repeat(h.config.maxBodyBytes + 1));
    expect(await closed).toBe(1009);
  });
});

describe('WebSocket caps: counted with SSE streams; operations per socket; sockets', () => {
  let h: Harness;
  let admin: string;
  let pending: string[];
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '60000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '2',
        WS_MAX_OPERATIONS_PER_SOCKET: '1',
        WS_MAX_SOCKETS: '3',
        WS_PING_INTERVAL_MS: '50',
      },
    });
    admin = await h.adminSession();
    pending = pendingTicketUuids(h.simulator);
  });
  afterAll(() => h.close());

  beforeEach(async () => {
    // Sockets and streams of the previous test close asynchronously: each test starts from none.
    await waitFor(() => h.app.sockets === 0 && h.gateway.feed.size === 0, 'earlier sockets to close');
  });

  it('the per-session cap counts SSE and WebSocket streams together', async () => {
    const sse = await subscribe(h.url, WATCH, { uuids: [pending[0]] }, admin);
    streams.push(sse);
    watch(client(h, { session: admin }), { uuids: [pending[0]] });
    await waitFor(() => h.gateway.feed.size === 2, 'two streams');
    h.simulator.controls.clearRequests();
    const third = watch(client(h, { session: admin }), { uuids: [pending[0]] });
    const result = await third.next();
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED,
      scope: 'session',
    });
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('WS_MAX_OPERATIONS_PER_SOCKET: one more operation on the socket is refused', async () => {
    const c = client(h, { session: admin });
    watch(c, { uuids: [pending[0]] });
    await waitFor(() => h.gateway.feed.size === 1, 'the stream');
    const second = await wsRequest(c, PENDING);
    expect(second.errors?.[0]?.extensions).toMatchObject({
      code: ErrorCode.WEBSOCKET_LIMIT_EXCEEDED,
      scope: 'operations',
      limit: 1,
    });
  });

  it('WS_PING_INTERVAL_MS: a socket that does not answer pings is closed; one that does stays', async () => {
    const alive = client(h, { session: admin });
    await wsRequest(alive, PENDING);
    const silent = new WebSocket(h.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { autoPong: false });
    await new Promise((resolve) => silent.once('open', resolve));
    silent.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `OAuth ${admin}` } }));
    const code = await new Promise<number>((resolve) => silent.once('close', (c) => resolve(c)));
    // Terminated, no close frame: 1006 on the client's side.
    expect(code).toBe(1006);
    const again = await wsRequest(alive, PENDING);
    expect(again.errors).toBeUndefined();
  });

  it('WS_MAX_SOCKETS: one more socket is answered 503', async () => {
    for (let i = 0; i < 3; i++) client(h, { session: admin });
    await waitFor(() => h.app.sockets === 3, 'three sockets');
    const ws = rawSocket(h);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(503);
  });
});

describe('WebSocket subscribers of one session cost one poll per interval (manual clock)', () => {
  const fx = useManualFeedHarness();
  const { tick } = fx;
  let h: Harness;
  let admin: string;
  beforeAll(() => {
    ({ h, admin } = fx);
  });

  it('100 sockets, one subscription each: one query per interval, and a change reaches all', async () => {
    const c = h.simulator.controls;
    c.clearRequests();
    const subs: WsSubscription[] = [];
    for (let i = 0; i < 100; i++) subs.push(watch(client(h, { session: admin }), { where: {} }));
    await waitFor(() => h.gateway.feed.size === 100, 'the 100 streams to open');
    expect(h.app.sockets).toBe(100);
    expect(ticketPolls(h)).toBe(0);
    await tick(0, 1);
    for (let interval = 1; interval <= 5; interval++) await tick(1000, 1 + interval);
    expect(ticketPolls(h)).toBe(6);
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    c.changeTicketStatus(uuid, 'reject');
    await tick(1000, 7);
    for (const sub of subs) {
      const event = await sub.next();
      expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: 'REJECTED' } });
    }
    expect(ticketPolls(h)).toBe(7);
  });
});

describe('shutdown: drain completes every subscription and closes every socket with 1001', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness({ env: { TICKET_POLL_INTERVAL_MS: '60000', ZSTACK_TIME_ZONE: 'UTC' } });
    admin = await h.adminSession();
  });
  afterAll(() => h.close());

  it('app.drain(): complete, then 1001; app.idle() resolves once the sockets are gone', async () => {
    const withStream = wsClient(h.url, { session: admin });
    const idleSocket = wsClient(h.url, { session: admin });
    clients.push(withStream, idleSocket);
    const sub = watch(withStream, { where: {} });
    await waitFor(() => h.gateway.feed.size === 1 && h.app.sockets === 2, 'the stream and both sockets');
    h.app.drain();
    expect(await sub.done).toBe('complete');
    expect((await withStream.closed).code).toBe(1001);
    expect((await idleSocket.closed).code).toBe(1001);
    await h.app.idle();
    expect(h.app.sockets).toBe(0);
  });
});
