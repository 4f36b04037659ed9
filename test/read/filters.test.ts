import { describe, expect, it } from 'vitest';
import { type Any, gets, param, params, useReadHarness } from './support.js';

const read = useReadHarness();

const LIST = `query($where: TicketWhere, $orderBy: TicketOrder) {
  tickets(where: $where, orderBy: $orderBy, first: 500) { totalCount nodes { uuid name status ticketTypeUuid } }
}`;

async function list(where: unknown, orderBy?: unknown): Promise<Any> {
  return read.h.gql<Any>(LIST, { where, orderBy }, { session: read.admin });
}

const tickets = () => read.h.simulator.controls.listTickets();
const qs = () =>
  params(gets(read.h, '/tickets')[0])
    .filter(([k]) => k === 'q')
    .map(([, v]) => v);

describe('filters map to q= and return the right tickets', () => {
  it('statusIn', async () => {
    const res = await list({ statusIn: ['PENDING', 'REJECTED'] });
    expect(res.errors).toBeUndefined();
    expect(qs()).toEqual(['status?=Pending,Rejected']);
    const expected = tickets().filter((t) => t.status === 'Pending' || t.status === 'Rejected');
    expect(expected.length).toBeGreaterThan(0);
    expect(res.data.tickets.nodes.map((n: Any) => n.uuid)).toEqual(expected.map((t) => t.uuid));
    expect(res.data.tickets.totalCount).toBe(expected.length);
  });

  it('name (exact)', async () => {
    const res = await list({ name: 'demo ticket 7' });
    expect(qs()).toEqual(['name=demo ticket 7']);
    expect(res.data.tickets.nodes.map((n: Any) => n.name)).toEqual(['demo ticket 7']);
  });

  it('nameContains becomes a LIKE %…%', async () => {
    const res = await list({ nameContains: 'ticket 1' });
    expect(qs()).toEqual(['name~=%ticket 1%']);
    const names = res.data.tickets.nodes.map((n: Any) => n.name);
    expect(names).toEqual(
      tickets()
        .filter((t) => String(t.name).includes('ticket 1'))
        .map((t) => t.name),
    );
    expect(names).toHaveLength(11);
  });

  it('name and nameContains match without regard to case, as ZStack on MySQL’s default collation does (issue 25, D14)', async () => {
    const exact = await list({ name: 'DEMO Ticket 7' });
    expect(qs()).toEqual(['name=DEMO Ticket 7']);
    expect(exact.data.tickets.nodes.map((n: Any) => n.name)).toEqual(['demo ticket 7']);
    const contains = await list({ nameContains: 'TICKET 1' });
    expect(contains.data.tickets.nodes).toHaveLength(11);
  });

  it('uuidIn (any case, sent lower-case), ticketTypeUuid, flowCollectionUuid and accountSystemType together', async () => {
    const all = tickets();
    const typeUuid = all[0]?.ticketTypeUuid as string;
    const picked = all.slice(0, 6).map((t) => t.uuid as string);
    const res = await list({
      uuidIn: picked.map((u, i) => (i % 2 ? u.toUpperCase() : u)),
      ticketTypeUuid: typeUuid.toUpperCase(),
      flowCollectionUuid: read.h.simulator.controls.demo.flowCollectionUuid,
      accountSystemType: 'iam2',
    });
    expect(res.errors).toBeUndefined();
    expect(qs()).toEqual([
      `uuid?=${picked.join(',')}`,
      `ticketTypeUuid=${typeUuid}`,
      `flowCollectionUuid=${read.h.simulator.controls.demo.flowCollectionUuid}`,
      'accountSystemType=iam2',
    ]);
    const expected = all.filter((t) => picked.includes(t.uuid as string) && t.ticketTypeUuid === typeUuid);
    expect(res.data.tickets.nodes.map((n: Any) => n.uuid)).toEqual(expected.map((t) => t.uuid));
  });

  it('an empty uuidIn or statusIn matches nothing without asking ZStack', async () => {
    for (const where of [{ uuidIn: [] }, { statusIn: [] }]) {
      const res = await list(where);
      expect(res.errors).toBeUndefined();
      expect(res.data.tickets).toEqual({ totalCount: 0, nodes: [] });
    }
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it.each([
    [{ field: 'NAME', direction: 'DESC' }, 'sort=-name', 'name', -1],
    [{ field: 'CREATE_DATE' }, 'sort=%2BcreateDate', 'createDate', 1],
    [{ field: 'LAST_OP_DATE', direction: 'DESC' }, 'sort=-lastOpDate', 'lastOpDate', -1],
  ])('orderBy %j sends %s and returns that order', async (orderBy, wire, field, sign) => {
    const res = await read.h.gql<Any>(
      `query($o: TicketOrder) { tickets(orderBy: $o, first: 500) { nodes { uuid name createDate lastOpDate } } }`,
      { o: orderBy },
      { session: read.admin },
    );
    expect(res.errors).toBeUndefined();
    expect(gets(read.h, '/tickets')[0]?.query.split('&')).toContain(wire);
    const values = res.data.tickets.nodes.map((n: Any) => n[field] as string);
    const sorted = [...values].sort((a, b) => (a < b ? -sign : a > b ? sign : 0));
    expect(values).toEqual(sorted);
    expect(values).toHaveLength(50);
  });
});

describe('hostile filter values', () => {
  // Each value is either matched literally (a ticket renamed to it is found, and only it) ...
  it.each([
    'a=b',
    'x>y',
    'x<y',
    'is null',
    'not null',
    'a,b,c',
    '100%',
    'a_b',
    '%',
    '_',
    'say "hi"',
    'a+b',
    'a%2Bb',
    ' spaced ',
    '名前',
    'x'.repeat(255),
  ])('name %j matches literally', async (value) => {
    const target = tickets()[3]?.uuid as string;
    read.h.simulator.controls.setTicketField(target, 'name', value);
    const res = await list({ name: value });
    expect(res.errors).toBeUndefined();
    expect(res.data.tickets.nodes.map((n: Any) => [n.uuid, n.name])).toEqual([[target, value]]);
    expect(qs()).toEqual([`name=${value}`]);
  });

  it.each(['a=b', '?=', 'x>y', 'x<y', 'is null', 'a,b', 'say "hi"', 'a+b', ' ', 'x'.repeat(253)])(
    'nameContains %j matches literally',
    async (value) => {
      const target = tickets()[5]?.uuid as string;
      read.h.simulator.controls.setTicketField(target, 'name', `<<${value}>>`);
      const res = await list({ nameContains: value });
      expect(res.errors).toBeUndefined();
      const names: string[] = res.data.tickets.nodes.map((n: Any) => n.name);
      expect(res.data.tickets.nodes.map((n: Any) => n.uuid)).toContain(target);
      expect(names.every((n) => n.includes(value))).toBe(true);
      expect(names).toEqual(
        tickets()
          .filter((t) => String(t.name).includes(value))
          .map((t) => t.name),
      );
    },
  );

  // ... or refused before any upstream call.
  const refused: [string, Record<string, unknown>][] = [
    ...['!=', '>=', '<=', '!?=', '!~=', '~=', '?='].map(
      (op) => [`name with ${op}`, { name: `a${op}b` }] as [string, Record<string, unknown>],
    ),
    ['name starting with =', { name: '=a' }],
    ...['!=', '>=', '<=', '!?=', '!~='].map(
      (op) => [`nameContains with ${op}`, { nameContains: `a${op}b` }] as [string, Record<string, unknown>],
    ),
    ['nameContains with %', { nameContains: '50%' }],
    ['nameContains with _', { nameContains: 'a_b' }],
    ['a single quote', { name: "it's" }],
    ['a backslash', { name: 'a\\b' }],
    ['a newline', { name: 'a\nb' }],
    ['an empty name', { name: '' }],
    ['a name over 255 characters', { name: 'x'.repeat(256) }],
    ['a very long name', { name: 'x'.repeat(100_000) }],
    ['a nameContains over 253 characters', { nameContains: 'x'.repeat(254) }],
    ['accountSystemType with !=', { accountSystemType: 'iam2!=x' }],
    ['accountSystemType over 255 characters', { accountSystemType: 'y'.repeat(256) }],
    ['a comma inside a uuidIn item', { uuidIn: [`${'a'.repeat(32)},${'b'.repeat(32)}`] }],
    ['a uuidIn item that is no uuid', { uuidIn: ['not-a-uuid'] }],
    ['101 uuids', { uuidIn: Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, '0')) }],
    ['a ticketTypeUuid with an operator', { ticketTypeUuid: `${'a'.repeat(30)}!=` }],
    ['a flowCollectionUuid path trick', { flowCollectionUuid: '../../accounts/login' }],
  ];
  it.each(refused)('%s is BAD_USER_INPUT with no upstream call', async (_name, where) => {
    const res = await list(where);
    expect(res.data).toEqual({ tickets: null });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(read.h.simulator.controls.requests).toHaveLength(0);
  });

  it('100 uuids are accepted', async () => {
    const uuids = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(32, '0'));
    const res = await list({ uuidIn: uuids });
    expect(res.errors).toBeUndefined();
    expect(res.data.tickets.nodes).toEqual([]);
    expect(param(gets(read.h, '/tickets')[0], 'q')).toBe(`uuid?=${uuids.join(',')}`);
  });
});
