import { describe, expect, it } from 'vitest';
import { type Any, gets, param, useReadHarness } from './support.js';

const read = useReadHarness();

const PAGE = `query($first: Int, $after: String) {
  tickets(first: $first, after: $after) {
    edges { cursor node { uuid } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('tickets paging', () => {
  it('following endCursor visits every ticket exactly once, in order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (; pages < 20; pages++) {
      const res: Any = await read.h.gql<Any>(PAGE, { first: 7, after }, { session: read.admin });
      expect(res.errors).toBeUndefined();
      const { edges, pageInfo } = res.data.tickets;
      expect(pageInfo.hasPreviousPage).toBe(pages > 0);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      seen.push(...edges.map((e: Any) => e.node.uuid));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(pages).toBe(7); // 7 pages of 7 and one of 1: the 8th page says hasNextPage false
    const all = read.h.simulator.controls.listTickets().map((t) => t.uuid);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(50);
    const second = gets(read.h, '/tickets')[1];
    expect(param(second, 'start')).toBe('7');
    expect(param(second, 'limit')).toBe('8');
  });

  it('an edge cursor in the middle continues right after that edge', async () => {
    const first = await read.h.gql<Any>(PAGE, { first: 10 }, { session: read.admin });
    const cursor = first.data.tickets.edges[3].cursor;
    const next = await read.h.gql<Any>(PAGE, { first: 2, after: cursor }, { session: read.admin });
    expect(next.data.tickets.edges.map((e: Any) => e.node.uuid)).toEqual(
      first.data.tickets.edges.slice(4, 6).map((e: Any) => e.node.uuid),
    );
  });

  it('first: 0 returns no rows but knows whether there are any', async () => {
    const res = await read.h.gql<Any>(PAGE, { first: 0 }, { session: read.admin });
    expect(res.data.tickets.edges).toEqual([]);
    expect(res.data.tickets.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
  });

  it('defaults to 50 and accepts 500', async () => {
    await read.h.gql<Any>(PAGE, {}, { session: read.admin });
    await read.h.gql<Any>(PAGE, { first: 500 }, { session: read.admin });
    expect(gets(read.h, '/tickets').map((r) => param(r, 'limit'))).toEqual(['51', '501']);
  });

  it.each([
    ['first: 501', { first: 501 }],
    ['first: -1', { first: -1 }],
    ['a made-up cursor', { after: 'bm90IGEgY3Vyc29y' }],
    ['a cursor with a negative offset', { after: Buffer.from('offset:-1').toString('base64url') }],
    ['a cursor with padding', { after: `${Buffer.from('offset:1').toString('base64url')}==` }],
    ['a cursor past ZStack ints', { after: Buffer.from('offset:2147483647').toString('base64url') }],
    ['an empty cursor', { after: '' }],
  ])('%s is BAD_USER_INPUT with no upstream call', async (_name, vars) => {
    for (const query of [
      PAGE,
      'query($first: Int, $after: String) { ticketTypes(first: $first, after: $after) { nodes { uuid } } }',
      'query($first: Int, $after: String) { ticketFlowCollections(first: $first, after: $after) { nodes { uuid } } }',
    ]) {
      const res = await read.h.gql<Any>(query, vars, { session: read.admin });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });
});

describe('ticketTypes and ticketFlowCollections', () => {
  it('page through the ticket types with all their fields', async () => {
    const q = `query($after: String) { ticketTypes(first: 2, after: $after) {
      nodes { uuid name description type requests adminOnly createDate lastOpDate }
      pageInfo { hasNextPage endCursor } } }`;
    const one = await read.h.gql<Any>(q, {}, { session: read.admin });
    expect(one.errors).toBeUndefined();
    expect(one.data.ticketTypes.pageInfo.hasNextPage).toBe(true);
    const two = await read.h.gql<Any>(
      q,
      { after: one.data.ticketTypes.pageInfo.endCursor },
      { session: read.admin },
    );
    expect(two.data.ticketTypes.pageInfo.hasNextPage).toBe(false);
    const types = [...one.data.ticketTypes.nodes, ...two.data.ticketTypes.nodes];
    expect(types.map((t: Any) => t.uuid)).toEqual(read.h.simulator.controls.demo.ticketTypeUuids);
    expect(types.map((t: Any) => t.name)).toContain('CREATE_VM_INSTANCE_TICKET_TYPE');
    expect(types[0].requests).toEqual(expect.stringContaining('org.zstack'));
    expect(types[0].createDate).toMatch(/Z$/);
  });

  it('lists the flow collection with its flows in order', async () => {
    const res = await read.h.gql<Any>(
      `{ ticketFlowCollections { nodes { uuid name state status isDefault ticketTypeUuids projectUuid
          flows { uuid name parentFlowUuid collectionUuid approverUuid valid approver { uuid } createDate } } } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    const { demo } = read.h.simulator.controls;
    const [c] = res.data.ticketFlowCollections.nodes;
    expect(c).toMatchObject({
      uuid: demo.flowCollectionUuid,
      name: 'two-step-approval',
      state: 'Enabled',
      isDefault: true,
      projectUuid: demo.projectUuid,
    });
    expect([...c.ticketTypeUuids].sort()).toEqual([...demo.ticketTypeUuids].sort());
    expect(c.flows.map((f: Any) => f.approverUuid)).toEqual(demo.approvers.map((a) => a.uuid));
    expect(c.flows.map((f: Any) => f.approver.uuid)).toEqual(demo.approvers.map((a) => a.uuid));
    expect(c.flows.map((f: Any) => f.valid)).toEqual([true, true]);
    expect(c.flows[0].parentFlowUuid).toBeNull();
    expect(c.flows[1].parentFlowUuid).toBe(c.flows[0].uuid);
  });
});
