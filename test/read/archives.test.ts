import { describe, expect, it } from 'vitest';
import { type Any, gets, param, params, useReadHarness } from './support.js';

const read = useReadHarness();

const ARCHIVES = '/tickets/archives';
const HISTORY_ARCHIVES = '/tickets/histories/archives';
const qs = () =>
  params(gets(read.h, ARCHIVES)[0])
    .filter(([k]) => k === 'q')
    .map(([, v]) => v);

const LIST = `query($where: ArchivedTicketWhere, $orderBy: TicketOrder, $first: Int) {
  archivedTickets(where: $where, orderBy: $orderBy, first: $first) {
    totalCount
    nodes { uuid ticketUuid name status accountUuid account { name type }
      request { action resources { name } }
      history { uuid historyUuid ticketUuid sequence fromStatus toStatus operator { name } } }
  }
}`;

const list = (variables: Record<string, unknown> = {}) =>
  read.h.gql<Any>(LIST, variables, { session: read.admin });

/** Deletes `n` live tickets through the gateway; returns their uuids. */
async function deleteSome(n: number): Promise<string[]> {
  const uuids = read.h.simulator.controls
    .listTickets()
    .slice(0, n)
    .map((t) => t.uuid as string);
  for (const uuid of uuids) {
    const res = await read.h.gql<Any>(
      'mutation($uuid: ID!) { deleteTicket(input: { uuid: $uuid }) { deletedTicketUuid } }',
      { uuid },
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
  }
  read.h.simulator.controls.clearRequests();
  return uuids;
}

describe('archivedTickets', () => {
  it('lists the seeded archive with history, account and names: one call each for tickets, history and names', async () => {
    const res = await list();
    expect(res.errors).toBeUndefined();
    const { demo } = read.h.simulator.controls;
    const nodes = res.data.archivedTickets.nodes as Any[];
    expect(nodes.map((n) => n.ticketUuid)).toEqual(demo.archivedTicketUuids);
    expect(res.data.archivedTickets.totalCount).toBe(demo.archivedTicketUuids.length);
    for (const n of nodes) {
      expect(n.uuid).not.toBe(n.ticketUuid);
      expect(n.name).toMatch(/^old ticket \d$/);
      expect(n.account).toEqual({ name: 'demo-project', type: 'AccountVO' });
      expect(n.request[0].action).toEqual(expect.any(String));
      expect(n.history.length).toBeGreaterThan(0);
      // ZStack's table-wide counter: increasing within a ticket, not numbered from 1.
      const seqs: number[] = n.history.map((h: Any) => h.sequence as number);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      for (const h of n.history) {
        expect(h.ticketUuid).toBe(n.ticketUuid);
        expect(h.historyUuid).toMatch(/^[0-9a-f]{32}$/);
        expect(h.historyUuid).not.toBe(h.uuid);
        expect(h.operator.name).toEqual(expect.any(String));
      }
    }
    expect(nodes[0].history[0]).toMatchObject({ fromStatus: 'PENDING', toStatus: 'PENDING' });
    expect(gets(read.h, ARCHIVES)).toHaveLength(1);
    expect(gets(read.h, HISTORY_ARCHIVES)).toHaveLength(1);
    expect(gets(read.h, '/resources/names')).toHaveLength(1);
    expect(read.h.simulator.controls.requests).toHaveLength(3);
    const q = param(gets(read.h, HISTORY_ARCHIVES)[0], 'q') as string;
    expect(q.startsWith('ticketUuid?=')).toBe(true);
    expect(q.slice('ticketUuid?='.length).split(',').sort()).toEqual([...demo.archivedTicketUuids].sort());
  });

  it('a ticket deleted through the gateway shows up archived with its history', async () => {
    const [uuid] = (await deleteSome(1)) as [string];
    const res = await list({ where: { ticketUuidIn: [uuid.toUpperCase()] } });
    expect(res.errors).toBeUndefined();
    expect(qs()).toEqual([`ticketUuid?=${uuid}`]);
    const [node] = res.data.archivedTickets.nodes;
    expect(node.ticketUuid).toBe(uuid);
    expect(node.name).toBe('demo ticket 1');
    expect(node.history.map((h: Any) => h.toStatus)[0]).toBe('PENDING');
  });

  it('history of a whole page is one call, even for 13 archived tickets', async () => {
    await deleteSome(10);
    const res = await list({ first: 50 });
    expect(res.errors).toBeUndefined();
    expect(res.data.archivedTickets.nodes).toHaveLength(13);
    expect(gets(read.h, HISTORY_ARCHIVES)).toHaveLength(1);
    for (const n of res.data.archivedTickets.nodes) expect(n.history.length).toBeGreaterThan(0);
  });

  it.each([
    [{ statusIn: ['PENDING', 'FINAL_APPROVED'] }, ['status?=Pending,FinalApproved']],
    [{ nameContains: 'ticket 2' }, ['name~=%ticket 2%']],
    [{ accountUuid: 'A'.repeat(32) }, [`accountUuid=${'a'.repeat(32)}`]],
    [
      { ticketUuidIn: ['b'.repeat(32), 'b'.repeat(32)], statusIn: ['REJECTED'] },
      [`ticketUuid?=${'b'.repeat(32)}`, 'status?=Rejected'],
    ],
  ])('pushes %j into q=', async (where, expected) => {
    const res = await list({ where });
    expect(res.errors).toBeUndefined();
    expect(qs()).toEqual(expected);
  });

  it('filters return the right archived tickets', async () => {
    const { demo } = read.h.simulator.controls;
    const all = (await list()).data.archivedTickets.nodes as Any[];
    const account = all[0].accountUuid as string;
    const byStatus = await list({ where: { statusIn: ['FINAL_APPROVED'], accountUuid: account } });
    expect(byStatus.data.archivedTickets.nodes.map((n: Any) => n.ticketUuid)).toEqual(
      all.filter((n) => n.status === 'FINAL_APPROVED').map((n) => n.ticketUuid),
    );
    const byName = await list({ where: { nameContains: 'ticket 2' } });
    expect(byName.data.archivedTickets.nodes.map((n: Any) => n.name)).toEqual(['old ticket 2']);
    expect(demo.archivedTicketUuids).toHaveLength(3);
  });

  it.each([
    ['nameContains with %', { nameContains: '50%' }],
    ['nameContains with _', { nameContains: 'a_b' }],
    ['a malformed ticketUuidIn', { ticketUuidIn: ['nope'] }],
    [
      '101 ticketUuidIn',
      { ticketUuidIn: Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, '0')) },
    ],
    ['a malformed accountUuid', { accountUuid: "x' or '1'='1" }],
    ['nameContains over 253 characters', { nameContains: 'x'.repeat(254) }],
  ])('refuses %s with BAD_USER_INPUT before any call', async (_what, where) => {
    const res = await list({ where });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it('an empty list filter matches nothing without a call', async () => {
    const res = await list({ where: { statusIn: [] } });
    expect(res.errors).toBeUndefined();
    expect(res.data.archivedTickets).toEqual({ totalCount: 0, nodes: [] });
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it('fields= and replyWithCount follow the selection; orderBy becomes sort=', async () => {
    const res = await read.h.gql<Any>(
      '{ archivedTickets(orderBy: { field: NAME, direction: DESC }) { nodes { name account { uuid } history { uuid } } } }',
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.archivedTickets.nodes.map((n: Any) => n.name)).toEqual([
      'old ticket 3',
      'old ticket 2',
      'old ticket 1',
    ]);
    const [call] = gets(read.h, ARCHIVES);
    expect(param(call, 'fields')).toBe('uuid,name,ticketUuid,accountUuid');
    expect(param(call, 'sort')).toBe('-name');
    expect(params(call).map(([k]) => k)).not.toContain('replyWithCount');
    expect(gets(read.h, '/resources/names')).toHaveLength(0);
  });

  it('pages with cursors', async () => {
    const first = await read.h.gql<Any>(
      '{ archivedTickets(first: 2) { pageInfo { hasNextPage endCursor } nodes { ticketUuid } } }',
      {},
      { session: read.admin },
    );
    expect(first.data.archivedTickets.pageInfo.hasNextPage).toBe(true);
    expect(param(gets(read.h, ARCHIVES)[0], 'limit')).toBe('3');
    const next = await read.h.gql<Any>(
      'query($after: String) { archivedTickets(first: 2, after: $after) { pageInfo { hasNextPage } nodes { ticketUuid } } }',
      { after: first.data.archivedTickets.pageInfo.endCursor },
      { session: read.admin },
    );
    expect(next.data.archivedTickets.pageInfo.hasNextPage).toBe(false);
    expect(
      [...first.data.archivedTickets.nodes, ...next.data.archivedTickets.nodes].map((n: Any) => n.ticketUuid),
    ).toEqual(read.h.simulator.controls.demo.archivedTicketUuids);
  });
});
