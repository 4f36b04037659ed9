import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/simulator/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { type Any, logInAdmin } from './support.js';

/**
 * Partial results: a field that needs its own upstream call is nullable, so when that call fails
 * only the field is null, with the error at its path and its code, and the rest of the page
 * arrives. Every secondary route and the primary one of a root field fail in turn, on graphql-js
 * and on graphql-jit (which runs every document it has compiled; each is sent twice).
 */

type Path = (string | number | '*')[];

interface Case {
  name: string;
  fault: FaultRule;
  query: string;
  /** Where the errors may be: '*' matches any key or list index. */
  failing: Path[];
  code: string;
  /** Everything else the answer must hold. */
  check: (data: Any) => void;
}

const errorCode = (path: string): FaultRule => ({
  fault: { kind: 'errorCode', code: 'SYS.1000', details: 'injected' },
  method: 'GET',
  path,
  times: Number.POSITIVE_INFINITY,
});
const unreachable = (path: string): FaultRule => ({
  fault: { kind: 'reset' },
  method: 'GET',
  path,
  times: Number.POSITIVE_INFINITY,
});

const HEX32 = /^[0-9a-f]{32}$/;

const cases: Case[] = [
  {
    name: 'history (QueryTicketStatusHistory)',
    fault: errorCode('/v1/tickets/histories'),
    query: '{ tickets(first: 5) { totalCount nodes { uuid status history { uuid } } } }',
    failing: [['tickets', 'nodes', '*', 'history']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.tickets.totalCount).toBeGreaterThan(5);
      expect(data.tickets.nodes).toHaveLength(5);
      for (const n of data.tickets.nodes) {
        expect(n.uuid).toMatch(HEX32);
        expect(n.status).toEqual(expect.any(String));
        expect(n.history).toBeNull();
      }
    },
  },
  {
    name: 'history, ZStack unreachable',
    fault: unreachable('/v1/tickets/histories'),
    query: '{ tickets(first: 3) { nodes { uuid name history { uuid } } } }',
    failing: [['tickets', 'nodes', '*', 'history']],
    code: 'UPSTREAM_UNAVAILABLE',
    check: (data) => {
      expect(data.tickets.nodes).toHaveLength(3);
      for (const n of data.tickets.nodes) expect(n.name).toEqual(expect.any(String));
    },
  },
  {
    name: 'ticketType (QueryTicketType)',
    fault: errorCode('/v1/ticket-types'),
    query: '{ tickets(first: 5) { nodes { uuid ticketTypeUuid ticketType { name } } } }',
    failing: [['tickets', 'nodes', '*', 'ticketType']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.tickets.nodes).toHaveLength(5);
      for (const n of data.tickets.nodes) {
        expect(n.ticketTypeUuid).toMatch(HEX32);
        expect(n.ticketType).toBeNull();
      }
    },
  },
  {
    name: 'flowCollection and its flows (QueryTicketFlowCollection)',
    fault: errorCode('/v1/tickets/flow-collections'),
    query:
      '{ tickets(first: 5) { nodes { uuid flowCollectionUuid flowCollection { name flows { uuid } } } } }',
    failing: [['tickets', 'nodes', '*', 'flowCollection']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.tickets.nodes).toHaveLength(5);
      for (const n of data.tickets.nodes) {
        expect(n.flowCollectionUuid).toMatch(HEX32);
        expect(n.flowCollection).toBeNull();
      }
    },
  },
  {
    name: 'archived history (QueryArchiveTicketStatusHistory)',
    fault: errorCode('/v1/tickets/histories/archives'),
    query: '{ archivedTickets(first: 5) { totalCount nodes { uuid ticketUuid name history { uuid } } } }',
    failing: [['archivedTickets', 'nodes', '*', 'history']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.archivedTickets.nodes.length).toBeGreaterThan(0);
      for (const n of data.archivedTickets.nodes) {
        expect(n.ticketUuid).toMatch(HEX32);
        expect(n.name).toEqual(expect.any(String));
        expect(n.history).toBeNull();
      }
    },
  },
  {
    name: 'names (GetResourceNames)',
    fault: errorCode('/v1/resources/names'),
    query: `{ tickets(first: 3) { nodes { uuid history { uuid operatorUuid operator { uuid name } } } }
      resources(uuids: ["${'0'.repeat(32)}"]) { uuid type } }`,
    failing: [
      ['tickets', 'nodes', '*', 'history', '*', 'operator', 'name'],
      ['resources', 0, 'type'],
    ],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      const rows = data.tickets.nodes.flatMap((n: Any) => n.history);
      expect(rows.length).toBeGreaterThan(0);
      for (const h of rows) {
        expect(h.uuid).toMatch(HEX32);
        if (h.operatorUuid) expect(h.operator).toEqual({ uuid: h.operatorUuid, name: null });
      }
      expect(data.resources).toEqual([{ uuid: '0'.repeat(32), type: null }]);
    },
  },
  {
    name: 'a root connection (QueryTicket): the other roots arrive',
    fault: errorCode('/v1/tickets'),
    // Every ticket route contains /v1/tickets: the other root reads a route that does not.
    query: '{ tickets(first: 2) { nodes { uuid } } ticketTypes(first: 2) { nodes { name } } }',
    failing: [['tickets']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.tickets).toBeNull();
      expect(data.ticketTypes.nodes).toHaveLength(2);
    },
  },
  {
    name: 'ticket(uuid:) (QueryTicket by uuid): the other roots arrive',
    fault: errorCode('/v1/tickets'),
    query: `{ ticket(uuid: "${'a'.repeat(32)}") { uuid } ticketTypes(first: 1) { nodes { name } } }`,
    failing: [['ticket']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.ticket).toBeNull();
      expect(data.ticketTypes.nodes).toHaveLength(1);
    },
  },
  {
    name: 'ticketTypes (QueryTicketType): the other roots arrive',
    fault: errorCode('/v1/ticket-types'),
    query: '{ ticketTypes(first: 2) { nodes { name } } tickets(first: 2) { nodes { uuid } } }',
    failing: [['ticketTypes']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.ticketTypes).toBeNull();
      expect(data.tickets.nodes).toHaveLength(2);
    },
  },
  {
    name: 'ticketFlowCollections (QueryTicketFlowCollection): the other roots arrive',
    fault: errorCode('/v1/tickets/flow-collections'),
    query: '{ ticketFlowCollections(first: 2) { nodes { name } } tickets(first: 2) { nodes { uuid } } }',
    failing: [['ticketFlowCollections']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.ticketFlowCollections).toBeNull();
      expect(data.tickets.nodes).toHaveLength(2);
    },
  },
  {
    name: 'archivedTickets (QueryArchiveTicket): the other roots arrive',
    fault: errorCode('/v1/tickets/archives'),
    query: '{ archivedTickets(first: 2) { nodes { uuid } } ticketTypes(first: 2) { nodes { name } } }',
    failing: [['archivedTickets']],
    code: 'UPSTREAM_ERROR',
    check: (data) => {
      expect(data.archivedTickets).toBeNull();
      expect(data.ticketTypes.nodes).toHaveLength(2);
    },
  },
];

function matches(path: readonly (string | number)[], pattern: Path): boolean {
  return path.length === pattern.length && pattern.every((p, i) => p === '*' || p === path[i]);
}

function at(data: Any, path: readonly (string | number)[]): unknown {
  let value = data;
  for (const key of path) value = value?.[key];
  return value;
}

/** The answer keeps its data, and every error is the injected failure, at a failing field that is null. */
function expectPartial(res: Any, c: Case): void {
  expect(res.data).not.toBeNull();
  expect(res.errors?.length ?? 0).toBeGreaterThan(0);
  for (const e of res.errors as Any[]) {
    expect(e.extensions.code).toBe(c.code);
    expect(
      c.failing.some((p) => matches(e.path, p)),
      `error path ${JSON.stringify(e.path)}`,
    ).toBe(true);
    expect(at(res.data, e.path)).toBeNull();
  }
  c.check(res.data);
}

describe.each([
  ['graphql-jit', 'true'],
  ['graphql-js', 'false'],
])('partial results on %s', (_engine, jit) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        ZSTACK_TIME_ZONE: 'UTC',
        GRAPHQL_JIT: jit,
        GRAPHQL_MAX_COST: '1000000000',
      },
    });
    admin = await logInAdmin(h);
  });
  afterAll(() => h?.close());
  beforeEach(() => h.simulator.controls.reset());

  it.each(cases)('$name: only that field is null, with its path and code', async (c) => {
    h.simulator.controls.injectFault(c.fault);
    // The same document twice: the second run is the compiled one where jit caches documents.
    for (let i = 0; i < 2; i++) expectPartial(await h.gql<Any>(c.query, {}, { session: admin }), c);
    h.simulator.controls.clearFaults();
    const healthy = await h.gql<Any>(c.query, {}, { session: admin });
    expect(healthy.errors).toBeUndefined();
  });

  it('the operation ceilings cost the root field past them, not the whole data', async () => {
    const capped = await startHarness({
      upstream: h.simulator,
      env: { ZSTACK_TIME_ZONE: 'UTC', GRAPHQL_JIT: jit, MAX_UPSTREAM_CALLS_PER_OPERATION: '2' },
    });
    try {
      const session = await logInAdmin(capped);
      const query = `{ tickets(first: 2) { nodes { uuid } } ticketTypes(first: 2) { nodes { name } }
        ticketFlowCollections(first: 2) { nodes { name } } }`;
      for (let i = 0; i < 2; i++) {
        const res = await capped.gql<Any>(query, {}, { session });
        expect(res.data).not.toBeNull();
        expect(res.data.tickets.nodes).toHaveLength(2);
        expect(res.data.ticketTypes.nodes).toHaveLength(2);
        expect(res.data.ticketFlowCollections).toBeNull();
        expect(res.errors).toHaveLength(1);
        expect(res.errors?.[0]).toMatchObject({
          path: ['ticketFlowCollections'],
          extensions: { code: 'UPSTREAM_CALL_LIMIT_EXCEEDED' },
        });
      }
    } finally {
      await capped.close();
    }
  });
});

describe.each([
  ['graphql-jit', 'true'],
  ['graphql-js', 'false'],
])('mutations on %s', (_engine, jit) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness({ env: { ZSTACK_TIME_ZONE: 'UTC', GRAPHQL_JIT: jit } });
    admin = await logInAdmin(h);
  });
  afterAll(() => h?.close());
  beforeEach(() => h.simulator.controls.reset());

  it('a failed write is null with its error; the write after it in the document runs and answers', async () => {
    const pending = h.simulator.controls
      .listTickets()
      .filter((t) => t.status === 'Pending')
      .map((t) => t.uuid as string);
    const query = `mutation($unknown: ID!, $known: ID!) {
      a: changeTicketStatus(input: { uuid: $unknown, statusEvent: APPROVE }) { ticket { uuid } }
      b: changeTicketStatus(input: { uuid: $known, statusEvent: APPROVE }) { ticket { uuid status } } }`;
    // The same document twice (the second run is the compiled one where jit caches documents).
    for (const known of pending.slice(0, 2)) {
      h.simulator.controls.clearRequests();
      const res = await h.gql<Any>(query, { unknown: 'f'.repeat(32), known }, { session: admin });
      expect(res.data).toEqual({
        a: null,
        b: { ticket: { uuid: known, status: 'INTERMEDIATE_APPROVED' } },
      });
      expect(res.errors).toHaveLength(1);
      expect(res.errors?.[0]).toMatchObject({ path: ['a'], extensions: { code: 'NOT_FOUND' } });
      expect(h.simulator.controls.count({ method: 'PUT' })).toBe(2);
      expect(h.simulator.controls.getTicket(known as string)?.status).toBe('IntermediateApproved');
    }
  });
});
