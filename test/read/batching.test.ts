import { describe, expect, it } from 'vitest';
import { type Any, gets, param, useReadHarness } from './support.js';

const read = useReadHarness();

const allUuids = () => read.h.simulator.controls.listTickets().map((t) => t.uuid as string);

function aliased(uuids: string[]): string {
  return `{ ${uuids.map((u, i) => `t${i}: ticket(uuid: "${u}") { uuid name }`).join('\n')} }`;
}

describe('batching', () => {
  it('a list of 50 tickets with history, ticketType and flowCollection { flows } costs at most 4 GETs', async () => {
    const res = await read.h.gql<Any>(
      `{ tickets(first: 50) { nodes {
          uuid status
          history { uuid ticketUuid fromStatus toStatus sequence comment operatorType flowName createDate }
          ticketType { uuid name }
          flowCollection { uuid name flows { uuid name approverUuid } }
      } } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    const nodes = res.data.tickets.nodes as Any[];
    expect(nodes).toHaveLength(50);
    expect(read.h.simulator.controls.requests.length).toBeLessThanOrEqual(4);
    expect(gets(read.h, '/tickets')).toHaveLength(1);
    expect(gets(read.h, '/tickets/histories')).toHaveLength(1);
    expect(gets(read.h, '/ticket-types')).toHaveLength(1);
    expect(gets(read.h, '/tickets/flow-collections')).toHaveLength(1);

    // Complete and right: every ticket gets exactly its own history, in order.
    const { demo } = read.h.simulator.controls;
    for (const node of nodes) {
      const expected = read.h.simulator.controls.historyOf(node.uuid);
      expect(node.history.map((x: Any) => x.uuid)).toEqual(expected.map((x) => x.uuid));
      expect(node.history.every((x: Any) => x.ticketUuid === node.uuid)).toBe(true);
      const seqs = node.history.map((x: Any) => x.sequence);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(node.history[0].fromStatus).toBe('PENDING');
      expect(node.history[0].toStatus).toBe('PENDING');
      expect(node.flowCollection.uuid).toBe(demo.flowCollectionUuid);
      expect(node.flowCollection.flows.map((f: Any) => f.approverUuid)).toEqual(
        demo.approvers.map((a) => a.uuid),
      );
      expect(demo.ticketTypeUuids).toContain(node.ticketType.uuid);
    }
    const q = param(gets(read.h, '/tickets/histories')[0], 'q') as string;
    expect(q.startsWith('ticketUuid?=')).toBe(true);
    expect(q.slice('ticketUuid?='.length).split(',').sort()).toEqual(nodes.map((n) => n.uuid).sort());
  });

  it('20 aliased ticket(uuid:) fields cost exactly one GET with q=uuid?=…', async () => {
    const uuids = allUuids().slice(0, 20);
    const res = await read.h.gql<Any>(aliased(uuids), {}, { session: read.admin });
    expect(res.errors).toBeUndefined();
    uuids.forEach((u, i) => {
      expect(res.data[`t${i}`].uuid).toBe(u);
      expect(res.data[`t${i}`].name).toBe(read.h.simulator.controls.getTicket(u)?.name);
    });
    expect(read.h.simulator.controls.requests).toHaveLength(1);
    const q = param(gets(read.h, '/tickets')[0], 'q') as string;
    expect(q.startsWith('uuid?=')).toBe(true);
    expect(q.slice('uuid?='.length).split(',').sort()).toEqual([...uuids].sort());
  });

  it('150 aliased ticket(uuid:) fields cost two GETs (at most 100 uuids each)', async () => {
    const known = allUuids();
    // 50 real tickets and 100 unknown uuids: 150 distinct keys.
    const uuids = [...known, ...Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(32, 'f'))];
    const res = await read.h.gql<Any>(aliased(uuids), {}, { session: read.admin });
    expect(res.errors).toBeUndefined();
    uuids.forEach((u, i) => {
      expect(res.data[`t${i}`]?.uuid ?? null).toBe(i < known.length ? u : null);
    });
    const calls = gets(read.h, '/tickets');
    expect(read.h.simulator.controls.requests).toHaveLength(2);
    const sizes = calls.map((c) => (param(c, 'q') as string).slice('uuid?='.length).split(',').length);
    expect(sizes.sort((a, b) => a - b)).toEqual([50, 100]);
  });

  it('the same ticket asked twice (and in another case) is fetched once', async () => {
    const [u] = allUuids() as [string];
    const res = await read.h.gql<Any>(
      `{ a: ticket(uuid: "${u}") { uuid history { uuid } } b: ticket(uuid: "${u.toUpperCase()}") { name history { uuid } } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.a.uuid).toBe(u);
    expect(res.data.b.name).toBe(read.h.simulator.controls.getTicket(u)?.name);
    expect(res.data.a.history).toEqual(res.data.b.history);
    expect(gets(read.h, '/tickets')).toHaveLength(1);
    expect(param(gets(read.h, '/tickets')[0], 'q')).toBe(`uuid?=${u}`);
    expect(gets(read.h, '/tickets/histories')).toHaveLength(1);
  });

  it('ticket returns null for an unknown uuid', async () => {
    const res = await read.h.gql<Any>(
      `{ ticket(uuid: "${'0'.repeat(32)}") { uuid } }`,
      {},
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.ticket).toBeNull();
    expect(gets(read.h, '/tickets')).toHaveLength(1);
  });

  it('ticket refuses a malformed uuid and a missing session before any call', async () => {
    const bad = await read.h.gql<Any>('{ ticket(uuid: "../tickets") { uuid } }', {}, { session: read.admin });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anon = await read.h.gql<Any>(`{ ticket(uuid: "${'a'.repeat(32)}") { uuid } }`);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it('a failed batch reaches every field of it as the mapped upstream error', async () => {
    read.h.simulator.controls.injectFault({
      fault: { kind: 'errorCode', code: 'SYS.1000', details: 'boom' },
      method: 'GET',
      path: '/v1/tickets',
    });
    const uuids = allUuids().slice(0, 3);
    const res = await read.h.gql<Any>(aliased(uuids), {}, { session: read.admin });
    expect(res.errors).toHaveLength(3);
    for (const e of res.errors ?? [])
      expect(e.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', zstack: { code: 'SYS.1000' } });
    expect(gets(read.h, '/tickets')).toHaveLength(1);
  });
});
