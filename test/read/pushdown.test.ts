import { describe, expect, it } from 'vitest';
import { type Any, gets, param, params, useReadHarness } from './support.js';

const read = useReadHarness();

const FULL = `uuid name description status accountSystemType ticketTypeUuid currentFlowUuid flowCollectionUuid
  createDate lastOpDate request { requestName apiName executeTimes apiBody }
  accountSystemContext { projectUuid virtualIDUuid json }`;

async function fullList(): Promise<Any[]> {
  const res = await read.h.gql<Any>(
    `{ tickets(first: 500) { nodes { ${FULL} } } }`,
    {},
    { session: read.admin },
  );
  expect(res.errors).toBeUndefined();
  read.h.simulator.controls.clearRequests();
  return res.data.tickets.nodes;
}

describe('totalCount pushdown', () => {
  it('unselected: no replyWithCount is sent', async () => {
    const res = await read.h.gql<Any>(
      '{ tickets(first: 5) { nodes { uuid } } }',
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    const [call] = gets(read.h, '/tickets');
    expect(params(call).map(([k]) => k)).not.toContain('replyWithCount');
    expect(param(call, 'limit')).toBe('6');
  });

  it.each([
    ['directly', '{ tickets(first: 5) { totalCount } }'],
    ['through an inline fragment', '{ tickets(first: 5) { ... on TicketConnection { totalCount } } }'],
    [
      'through a named fragment',
      '{ tickets(first: 5) { ...Counted } } fragment Counted on TicketConnection { totalCount }',
    ],
    ['under an alias', '{ tickets(first: 5) { n: totalCount } }'],
  ])('selected %s: replyWithCount=true is sent and the total returned', async (_how, query) => {
    const res = await read.h.gql<Any>(query, {}, { session: read.admin });
    expect(res.errors).toBeUndefined();
    expect(Object.values(res.data.tickets)).toEqual([50]);
    expect(param(gets(read.h, '/tickets')[0], 'replyWithCount')).toBe('true');
  });

  it('ticketTypes and ticketFlowCollections push totalCount down too', async () => {
    const res = await read.h.gql<Any>(
      '{ ticketTypes { totalCount nodes { name } } ticketFlowCollections { nodes { name } } }',
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.ticketTypes.totalCount).toBe(3);
    expect(param(gets(read.h, '/ticket-types')[0], 'replyWithCount')).toBe('true');
    expect(params(gets(read.h, '/tickets/flow-collections')[0]).map(([k]) => k)).not.toContain(
      'replyWithCount',
    );
  });
});

describe('fields= projection', () => {
  it('sends exactly the ZStack fields the selection needs, and the values are complete', async () => {
    const full = await fullList();
    const res = await read.h.gql<Any>(
      '{ tickets(first: 500) { edges { node { name status ticketType { name } } } } }',
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    const [call] = gets(read.h, '/tickets');
    expect(param(call, 'fields')).toBe('uuid,name,status,ticketTypeUuid');
    expect(res.data.tickets.edges.map((e: Any) => ({ name: e.node.name, status: e.node.status }))).toEqual(
      full.map((t) => ({ name: t.name, status: t.status })),
    );
    expect(res.data.tickets.edges.every((e: Any) => typeof e.node.ticketType?.name === 'string')).toBe(true);
  });

  it('merges fields from nodes, edges, aliases and named fragments', async () => {
    const full = await fullList();
    const res = await read.h.gql<Any>(
      `query { tickets(first: 500) { ...Page nodes { createDate } } }
       fragment Page on TicketConnection { edges { node { ...T when: lastOpDate } } }
       fragment T on Ticket { nm: name ... on Ticket { flowCollection { name } } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(param(gets(read.h, '/tickets')[0], 'fields')).toBe(
      'uuid,name,flowCollectionUuid,createDate,lastOpDate',
    );
    res.data.tickets.edges.forEach((e: Any, i: number) => {
      expect(e.node.nm).toBe(full[i].name);
      expect(e.node.when).toBe(full[i].lastOpDate);
      expect(e.node.flowCollection.name).toBe('two-step-approval');
      expect(res.data.tickets.nodes[i].createDate).toBe(full[i].createDate);
    });
  });

  it('history needs only uuid; the histories still come complete', async () => {
    const res = await read.h.gql<Any>(
      '{ tickets(first: 3) { nodes { history { uuid } } } }',
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(param(gets(read.h, '/tickets')[0], 'fields')).toBe('uuid');
    const uuids = read.h.simulator.controls
      .listTickets()
      .slice(0, 3)
      .map((t) => t.uuid as string);
    res.data.tickets.nodes.forEach((n: Any, i: number) => {
      expect(n.history.map((x: Any) => x.uuid)).toEqual(
        read.h.simulator.controls.historyOf(uuids[i] as string).map((x) => x.uuid),
      );
    });
  });

  it('a selection of every field sends no projection and matches the projected reads', async () => {
    const full = await fullList();
    expect(full).toHaveLength(50);
    await read.h.gql<Any>(`{ tickets(first: 500) { nodes { ${FULL} } } }`, {}, { session: read.admin });
    expect(params(gets(read.h, '/tickets')[0]).map(([k]) => k)).not.toContain('fields');
  });
});
