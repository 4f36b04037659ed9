import { parse } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLoaders, sortHistory } from '../../src/request/loaders.js';
import { connectionSelection } from '../../src/schema/selection.js';
import { ticketProjection } from '../../src/schema/ticket-query.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { createZStackClient, type ZStackClient } from '../../src/zstack/client.js';
import { logInByAccount } from '../../src/zstack/sessions.js';
import { param } from './support.js';

let sim: Simulator;
let client: ZStackClient;
let session: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  client = createZStackClient({ baseUrl: sim.url, timeoutMs: 5000, jobTimeoutMs: 5000 });
  const { admin } = sim.controls.demo;
  session = (await logInByAccount(client, { accountName: admin.accountName, password: admin.password }, {}))
    .uuid;
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(() => sim.controls.reset());

const ticketGets = () => sim.controls.requests.filter((r) => r.path === '/zstack/v1/tickets').length;
const uuids = () => sim.controls.listTickets().map((t) => t.uuid as string);

describe('createLoaders', () => {
  it('ticketByUuid returns rows in key order and null for a missing uuid, in one call', async () => {
    const [a, b] = uuids() as [string, string];
    const missing = '0'.repeat(32);
    const loaders = createLoaders({ client, session });
    const rows = await loaders.ticketByUuid.loadMany([b, missing, a]);
    expect(rows.map((r) => (r && !(r instanceof Error) ? r.uuid : r))).toEqual([b, null, a]);
    expect(ticketGets()).toBe(1);
  });

  it('historiesByTicketUuid pages on while pages come back full, so nothing is cut', async () => {
    const keys = uuids().slice(0, 4);
    const expected = keys.map((k) => sim.controls.historyOf(k).map((x) => x.uuid));
    const total = expected.flat().length;
    expect(total).toBeGreaterThan(6);
    const loaders = createLoaders({ client, session, historyPageSize: 3 });
    const got = await Promise.all(keys.map((k) => loaders.historiesByTicketUuid.load(k)));
    expect(got.map((rows) => rows.map((x) => x.uuid))).toEqual(expected);
    const calls = sim.controls.requests.filter((r) => r.path === '/zstack/v1/tickets/histories');
    expect(calls).toHaveLength(Math.floor(total / 3) + 1);
    expect(calls.map((c) => param(c, 'start'))).toEqual(calls.map((_, i) => String(i * 3)));
    for (const c of calls) {
      expect(param(c, 'q')).toBe(`ticketUuid?=${keys.join(',')}`);
      expect(param(c, 'sort')).toBe('+uuid');
      expect(param(c, 'limit')).toBe('3');
    }
  });

  it('loads fail with UNAUTHENTICATED and make no call without a session', async () => {
    const loaders = createLoaders({ client, session: undefined });
    await expect(loaders.ticketTypeByUuid.load('a'.repeat(32))).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(sim.controls.requests).toHaveLength(0);
  });

  it('two loader sets never share a cache', async () => {
    const [a] = uuids() as [string];
    const one = createLoaders({ client, session });
    const two = createLoaders({ client, session });
    await one.flowCollectionByUuid.load(sim.controls.demo.flowCollectionUuid);
    await one.ticketByUuid.load(a);
    await two.ticketByUuid.load(a);
    await one.ticketByUuid.load(a);
    expect(ticketGets()).toBe(2);
  });
});

describe('sortHistory', () => {
  it('orders by sequence, then by date (older ZStacks send no sequence)', () => {
    const rows = [
      { uuid: 'c', sequence: 3, createDate: 'Jun 7, 2024 9:00:00 AM' },
      { uuid: 'a', sequence: 1, createDate: 'Jun 7, 2024 11:00:00 AM' },
      { uuid: 'b', sequence: 2, createDate: 'Jun 7, 2024 10:00:00 AM' },
    ];
    expect(sortHistory(rows).map((r) => r.uuid)).toEqual(['a', 'b', 'c']);
    const old = [
      { uuid: 'y', createDate: 'Jun 7, 2024 1:00:00 PM' },
      { uuid: 'x', createDate: 'Jun 7, 2024 9:00:00 AM' },
      { uuid: 'z', createDate: 'Jun 8, 2024 8:00:00 AM' },
    ];
    expect(sortHistory(old).map((r) => r.uuid)).toEqual(['x', 'y', 'z']);
  });
});

describe('projection', () => {
  function project(document: string) {
    const doc = parse(document);
    const op = doc.definitions.find((d) => d.kind === 'OperationDefinition');
    if (op?.kind !== 'OperationDefinition') throw new Error('no operation');
    const field = op.selectionSet.selections[0];
    if (field?.kind !== 'Field') throw new Error('no field');
    const fragments = Object.fromEntries(
      doc.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d]] : [])),
    );
    const sel = connectionSelection({ fieldNodes: [field], fragments }, 'Ticket', 'Ticket');
    return { totalCount: sel.totalCount, fields: ticketProjection(sel.nodeFields) };
  }

  it.each([
    ['{ tickets { nodes { name } } }', ['uuid', 'name'], false],
    ['{ tickets { totalCount nodes { __typename } } }', ['uuid'], true],
    ['{ tickets { edges { cursor } pageInfo { hasNextPage } } }', ['uuid'], false],
    [
      '{ tickets { nodes { ticketType { name } flowCollection { uuid } } } }',
      ['uuid', 'ticketTypeUuid', 'flowCollectionUuid'],
      false,
    ],
    ['{ tickets { nodes { somethingNew } } }', undefined, false],
    ['{ tickets { ...F } } fragment F on Unknown { totalCount }', undefined, true],
    ['{ tickets { nodes { ...G } } } fragment G on Ticket { ...G }', undefined, false],
  ])('%s → fields %j, totalCount %s', (document, fields, totalCount) => {
    expect(project(document)).toEqual({ fields, totalCount });
  });
});
