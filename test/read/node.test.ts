import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Any, gets, param, useReadHarness } from './support.js';

const read = useReadHarness();

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const UNKNOWN = 'f'.repeat(32);

const IDS = `{
  tickets(first: 50) { nodes {
    id uuid
    history { id uuid }
    ticketType { id uuid }
    flowCollection { id uuid flows { id uuid } }
  } }
  archivedTickets(first: 3) { nodes { id uuid history { id uuid } } }
}`;

interface Ident {
  id: string;
  uuid: string;
}
type NodeType =
  | 'Ticket'
  | 'TicketStatusHistory'
  | 'TicketType'
  | 'TicketFlowCollection'
  | 'TicketFlow'
  | 'ArchivedTicket'
  | 'ArchivedTicketStatusHistory';

/** The first element; fails the test when there is none. */
function head<T>(xs: readonly T[]): T {
  const [x] = xs;
  if (x === undefined) throw new Error('empty list');
  return x;
}

/** Every identified object one page shows, with its id and uuid, by type. */
async function idsByType(): Promise<Record<NodeType, Ident[]>> {
  const res = await read.h.gql<Any>(IDS, {}, { session: read.admin });
  expect(res.errors).toBeUndefined();
  const tickets = res.data.tickets.nodes as Any[];
  const archived = res.data.archivedTickets.nodes as Any[];
  const pick = (x: Any): Ident => ({ id: x.id as string, uuid: x.uuid as string });
  return {
    Ticket: tickets.map(pick),
    TicketStatusHistory: tickets.flatMap((t) => t.history.map(pick)),
    TicketType: tickets.map((t) => pick(t.ticketType)),
    TicketFlowCollection: tickets.map((t) => pick(t.flowCollection)),
    TicketFlow: tickets.flatMap((t) => t.flowCollection.flows.map(pick)),
    ArchivedTicket: archived.map(pick),
    ArchivedTicketStatusHistory: archived.flatMap((a) => a.history.map(pick)),
  };
}

const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Ticket { uuid status }
  ... on TicketStatusHistory { uuid toStatus }
  ... on TicketType { uuid typeName: name }
  ... on TicketFlowCollection { uuid collectionName: name }
  ... on TicketFlow { uuid flowName: name }
  ... on ArchivedTicket { uuid archivedTicketUuid: ticketUuid }
  ... on ArchivedTicketStatusHistory { uuid historyTicketUuid: ticketUuid }
  ... on ApiJob { uuid state }
} }`;

describe('global object identification', () => {
  it('ids are distinct across types, stable across requests, and not the uuid', async () => {
    const first = await idsByType();
    const second = await idsByType();
    expect(second).toEqual(first);
    const byId = new Map<string, string>();
    for (const [type, rows] of Object.entries(first)) {
      expect(rows.length).toBeGreaterThan(0);
      for (const { id, uuid } of rows) {
        expect(id).not.toBe(uuid);
        expect(id).toBe(b64(`${type}:${uuid}`));
        const seen = byId.get(id);
        if (seen !== undefined) expect(seen).toBe(type);
        byId.set(id, type);
      }
    }
    // A ticket type and a ticket never share an id, even for the same uuid.
    const uuid = first.Ticket[0]?.uuid as string;
    expect(b64(`Ticket:${uuid}`)).not.toBe(b64(`TicketType:${uuid}`));
  });

  it('node(id:) and nodes(ids:) answer every type, in the order asked, one call per type', async () => {
    const all = await idsByType();
    // One of each type, in a mixed order, with a repeat and an unknown ticket.
    const asked = Object.entries(all).map(([type, rows]) => ({ type, ...(rows[1] ?? head(rows)) }));
    asked.reverse();
    const ids = [...asked.map((a) => a.id), b64(`Ticket:${UNKNOWN}`), head(asked).id];
    read.h.simulator.controls.clearRequests();
    const res = await read.h.gql<Any>(NODES, { ids }, { session: read.admin });
    expect(res.errors).toBeUndefined();
    const nodes = res.data.nodes as Any[];
    expect(nodes).toHaveLength(ids.length);
    asked.forEach((a, i) => {
      expect(nodes[i].__typename).toBe(a.type);
      expect(nodes[i].id).toBe(a.id);
      expect(nodes[i].uuid).toBe(a.uuid);
    });
    expect(nodes[asked.length]).toBeNull();
    expect(nodes[asked.length + 1].id).toBe(head(asked).id);
    // One GET per type, whatever the number of ids of that type.
    expect(read.h.simulator.controls.requests.map((r) => r.path).sort()).toEqual(
      [
        '/zstack/v1/tickets',
        '/zstack/v1/tickets/histories',
        '/zstack/v1/ticket-types',
        '/zstack/v1/tickets/flow-collections',
        '/zstack/v1/tickets/flow',
        '/zstack/v1/tickets/archives',
        '/zstack/v1/tickets/histories/archives',
      ].sort(),
    );

    for (const a of asked) {
      const one = await read.h.gql<Any>(
        `query($id: ID!) { node(id: $id) { __typename id } }`,
        { id: a.id },
        { session: read.admin },
      );
      expect(one.errors).toBeUndefined();
      expect(one.data.node).toEqual({ __typename: a.type, id: a.id });
    }
  });

  it('three ticket ids cost one upstream ticket query', async () => {
    const tickets = read.h.simulator.controls.listTickets().slice(0, 3);
    const ids = tickets.map((t) => b64(`Ticket:${t.uuid}`));
    read.h.simulator.controls.clearRequests();
    const res = await read.h.gql<Any>(NODES, { ids }, { session: read.admin });
    expect(res.errors).toBeUndefined();
    expect((res.data.nodes as Any[]).map((n) => n.uuid)).toEqual(tickets.map((t) => t.uuid));
    expect(read.h.simulator.controls.requests).toHaveLength(1);
    const q = param(gets(read.h, '/tickets')[0], 'q') as string;
    expect(q.slice('uuid?='.length).split(',').sort()).toEqual(tickets.map((t) => t.uuid).sort());
  });

  it('150 ids cost the fewest calls 100-uuid batches allow', async () => {
    const tickets = read.h.simulator.controls.listTickets().map((t) => t.uuid as string);
    expect(tickets).toHaveLength(50);
    const unknown = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(32, '0'));
    // 150 ticket ids: 2 ticket GETs (100 + 50).
    const ticketIds = [...tickets, ...unknown].map((u) => b64(`Ticket:${u}`));
    read.h.simulator.controls.clearRequests();
    const res = await read.h.gql<Any>(NODES, { ids: ticketIds }, { session: read.admin });
    expect(res.errors).toBeUndefined();
    const nodes = res.data.nodes as Any[];
    expect(nodes.slice(0, 50).map((n) => n.uuid)).toEqual(tickets);
    expect(nodes.slice(50).every((n) => n === null)).toBe(true);
    expect(read.h.simulator.controls.requests).toHaveLength(2);
    expect(gets(read.h, '/tickets')).toHaveLength(2);

    // 50 tickets and 100 history rows: one GET of each.
    const all = await idsByType();
    const mixed = [...all.Ticket, ...all.TicketStatusHistory.slice(0, 100)].map((x) => x.id);
    expect(mixed).toHaveLength(150);
    read.h.simulator.controls.clearRequests();
    const res2 = await read.h.gql<Any>(NODES, { ids: mixed }, { session: read.admin });
    expect(res2.errors).toBeUndefined();
    expect((res2.data.nodes as Any[]).map((n) => n.id)).toEqual(mixed);
    expect(read.h.simulator.controls.requests.map((r) => r.path).sort()).toEqual([
      '/zstack/v1/tickets',
      '/zstack/v1/tickets/histories',
    ]);
  });

  it('a malformed id is null with BAD_USER_INPUT at its path; an unknown one is null; no call', async () => {
    const ticket = read.h.simulator.controls.listTickets()[0]?.uuid as string;
    const good = b64(`Ticket:${ticket}`);
    const malformed = [
      'not base64!',
      ticket,
      b64('Ticket'),
      b64(`Nope:${ticket}`),
      b64(`TicketRequest:${ticket}`),
      b64(`Ticket:${ticket.toUpperCase()}`),
      b64('Ticket:1234'),
      b64(`Ticket:${ticket}:extra`),
      b64(`Ticket:${ticket.slice(0, 31)}`),
      'x'.repeat(10_000),
    ];
    const unknown = b64(`TicketType:${UNKNOWN}`);
    read.h.simulator.controls.clearRequests();
    const res = await read.h.gql<Any>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      { ids: [...malformed, unknown, good] },
      { session: read.admin },
    );
    const nodes = res.data?.nodes as Any[];
    expect(nodes).toHaveLength(malformed.length + 2);
    expect(nodes.slice(0, malformed.length + 1)).toEqual(Array(malformed.length + 1).fill(null));
    expect(nodes[malformed.length + 1]).toEqual({ id: good });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual(
      malformed.map((_, i) => [['nodes', i], 'BAD_USER_INPUT']),
    );
    expect(read.h.simulator.controls.requests.map((r) => r.path).sort()).toEqual([
      '/zstack/v1/ticket-types',
      '/zstack/v1/tickets',
    ]);

    for (const id of malformed.slice(0, 3)) {
      read.h.simulator.controls.clearRequests();
      const one = await read.h.gql<Any>(
        `query($id: ID!) { node(id: $id) { id } }`,
        { id },
        { session: read.admin },
      );
      expect(one.data).toEqual({ node: null });
      expect(one.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['node'], 'BAD_USER_INPUT']]);
      expect(read.h.simulator.controls.requests).toHaveLength(0);
    }
    const none = await read.h.gql<Any>(
      `query($id: ID!) { node(id: $id) { id } }`,
      { id: unknown },
      { session: read.admin },
    );
    expect(none).toMatchObject({ data: { node: null } });
    expect(none.errors).toBeUndefined();
  });

  it('more than 500 ids are refused before any call; a failed batch costs only its own entries', async () => {
    const ids = Array.from({ length: 501 }, () => b64(`Ticket:${UNKNOWN}`));
    read.h.simulator.controls.clearRequests();
    const res = await read.h.gql<Any>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      { ids },
      { session: read.admin },
    );
    expect(res.data).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(read.h.simulator.controls.requests).toHaveLength(0);

    const all = await idsByType();
    read.h.simulator.controls.injectFault({
      fault: { kind: 'http500' },
      method: 'GET',
      path: '/v1/ticket-types',
    });
    const mixed = [head(all.Ticket).id, head(all.TicketType).id];
    const res2 = await read.h.gql<Any>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      { ids: mixed },
      { session: read.admin },
    );
    expect(res2.data?.nodes).toEqual([{ id: mixed[0] }, null]);
    expect(res2.errors?.map((e) => e.path)).toEqual([['nodes', 1]]);
  });

  it('ApiJob is a Node: apiJob(uuid:) and node(id:) show the same job', async () => {
    const c = read.h.simulator.controls;
    const pending = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const change = await read.h.gql<Any>(
      `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { id uuid status } } }`,
      { input: { uuid: pending, statusEvent: 'APPROVE', comment: 'node', idempotencyKey: 'node-test' } },
      { session: read.admin },
    );
    expect(change.errors).toBeUndefined();
    expect(change.data.changeTicketStatus.ticket.id).toBe(b64(`Ticket:${pending}`));
    const jobUuid = c.requests.find((r) => r.method === 'PUT')?.headers['x-job-uuid'] as string;
    expect(jobUuid).toMatch(/^[0-9a-f]{32}$/);
    const job = await read.h.gql<Any>(
      `query($uuid: ID!) { apiJob(uuid: $uuid) { id uuid state } }`,
      { uuid: jobUuid },
      { session: read.admin },
    );
    expect(job.errors).toBeUndefined();
    expect(job.data.apiJob.id).toBe(b64(`ApiJob:${jobUuid}`));
    const node = await read.h.gql<Any>(NODES, { ids: [job.data.apiJob.id] }, { session: read.admin });
    expect(node.errors).toBeUndefined();
    expect(node.data.nodes).toEqual([
      { __typename: 'ApiJob', id: job.data.apiJob.id, uuid: jobUuid, state: job.data.apiJob.state },
    ]);
  });

  it('Relay refetch: node(id:) with an inline fragment after a decision shows the new status', async () => {
    // What Relay sends for a refetchable fragment on Ticket: the fragment's fields under node(id:).
    const list = await read.h.gql<Any>(
      `query TicketListQuery { tickets(first: 5, where: { statusIn: [PENDING] }) { nodes { id status } } }`,
      {},
      { session: read.admin },
    );
    expect(list.errors).toBeUndefined();
    const ticket = list.data.tickets.nodes[0];
    expect(ticket.status).toBe('PENDING');
    const REFETCH = `query TicketRefetchQuery($id: ID!) { node(id: $id) { __typename ...TicketFragment id } }
      fragment TicketFragment on Ticket { id status }`;
    const before = await read.h.gql<Any>(REFETCH, { id: ticket.id }, { session: read.admin });
    expect(before).toMatchObject({
      data: { node: { __typename: 'Ticket', id: ticket.id, status: 'PENDING' } },
    });

    const uuid = Buffer.from(ticket.id, 'base64').toString('utf8').split(':')[1] as string;
    read.h.simulator.controls.changeTicketStatus(uuid, 'approve');
    const after = await read.h.gql<Any>(REFETCH, { id: ticket.id }, { session: read.admin });
    expect(after.errors).toBeUndefined();
    expect(after.data.node.id).toBe(ticket.id);
    expect(after.data.node.status).not.toBe('PENDING');
  });
});

describe('node lookups without a session', () => {
  it('are UNAUTHENTICATED before any call', async () => {
    const id = b64(`Ticket:${read.h.simulator.controls.listTickets()[0]?.uuid}`);
    read.h.simulator.controls.clearRequests();
    const one = await read.h.gql<Any>('query($id: ID!) { node(id: $id) { id } }', { id });
    expect(one.data).toEqual({ node: null });
    expect(one.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    const many = await read.h.gql<Any>('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [id] });
    expect(many.data).toBeNull();
    expect(many.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });
});

describe('Session as a Node', () => {
  it('its id is a digest, not the token; node(id:) finds only the caller’s own session', async () => {
    const c = read.h.simulator.controls;
    const other = await read.h.logIn({
      accountName: c.demo.admin.accountName,
      password: c.demo.admin.password,
    });
    const mine = await read.h.gql<Any>('{ session { id uuid } }', {}, { session: read.admin });
    expect(mine.errors).toBeUndefined();
    const { id, uuid } = mine.data.session;
    expect(uuid).toBe(read.admin);
    const digest = createHash('sha256').update(read.admin).digest('hex').slice(0, 32);
    expect(id).toBe(b64(`Session:${digest}`));
    expect(Buffer.from(id, 'base64').toString('utf8')).not.toContain(read.admin);

    const query = `query($id: ID!) { node(id: $id) { __typename id ... on Session { uuid } } }`;
    const own = await read.h.gql<Any>(query, { id }, { session: read.admin });
    expect(own.errors).toBeUndefined();
    expect(own.data.node).toEqual({ __typename: 'Session', id, uuid: read.admin });
    const foreign = await read.h.gql<Any>(query, { id }, { session: other });
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data.node).toBeNull();
  });
});
