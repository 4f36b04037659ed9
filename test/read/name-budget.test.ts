import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { ErrorCode } from '../../src/errors.js';
import type { RecordedRequest } from '../../src/simulator/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { type Any, gets, logInAdmin, params } from './support.js';

// Issue 20, finding 2: an apiBody may name any number of uuids ZStack does not know (they return no
// rows, so the row budget never sees them). Names, resources and calls each have a ceiling per
// operation (and per subscription event); these run at the defaults: 1,000 named uuids (10 calls),
// 100 resources per request, 100 calls.

const NAMES = '/resources/names';
const namesCalls = (h: Harness) => gets(h, NAMES);
const askedUuids = (calls: RecordedRequest[]) =>
  calls.flatMap((r) =>
    params(r)
      .filter(([k]) => k === 'uuids')
      .map(([, v]) => v),
  );
const codes = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (res.errors ?? []).map((e) => e.extensions?.code);
const count = (list: unknown[], code: string) => list.filter((c) => c === code).length;

/** `n` distinct uuids ZStack does not know, the `tag` (a hex digit or two) keeping them apart. */
const unknownUuids = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${tag}${i.toString(16).padStart(32 - tag.length, '0')}`);

/** Gives a ticket `requests` requests whose apiBody each names `perRequest` unknown uuids. */
function makeBig(h: Harness, uuid: string, requests: number, perRequest: number, tag: string) {
  h.simulator.controls.setTicketField(
    uuid,
    'request',
    Array.from({ length: requests }, (_, r) => ({
      requestName: `r${r}`,
      apiName: 'org.zstack.header.vm.APIDestroyVmInstanceMsg',
      executeTimes: 1,
      apiBody: { vmInstanceUuids: unknownUuids(perRequest, `${tag}${r.toString(16)}`) },
    })),
  );
}

let h: Harness;
let admin: string;
let pending: string[];
let open: SseSubscription[] = [];

beforeAll(async () => {
  h = await startHarness({
    env: {
      ZSTACK_TIME_ZONE: 'UTC',
      GRAPHQL_MAX_ALIASES: '1000',
      GRAPHQL_MAX_TOKENS: '1000000',
      GRAPHQL_MAX_COST: '1000000000',
    },
  });
});
afterAll(() => h.close());
beforeEach(async () => {
  h.simulator.controls.reset();
  admin = await logInAdmin(h);
  pending = h.simulator.controls
    .listTickets()
    .filter((t) => t.status === 'Pending')
    .map((t) => t.uuid as string);
  h.simulator.controls.clearRequests();
});
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe('settings', () => {
  it('default to 100 calls, 1,000 named uuids and 100 resources per request', () => {
    expect(loadConfig({})).toMatchObject({
      maxUpstreamCallsPerOperation: 100,
      maxNamedUuidsPerOperation: 1000,
      maxResourcesPerRequest: 100,
    });
    expect(
      loadConfig({
        MAX_UPSTREAM_CALLS_PER_OPERATION: '7',
        MAX_NAMED_UUIDS_PER_OPERATION: '0',
        MAX_RESOURCES_PER_REQUEST: '3',
      }),
    ).toMatchObject({
      maxUpstreamCallsPerOperation: 7,
      maxNamedUuidsPerOperation: 0,
      maxResourcesPerRequest: 3,
    });
  });

  it.each([
    ['MAX_UPSTREAM_CALLS_PER_OPERATION', '0'],
    ['MAX_NAMED_UUIDS_PER_OPERATION', '-1'],
    ['MAX_RESOURCES_PER_REQUEST', 'all'],
  ])('refuse %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

const PAGE = `query($u: [ID!]) { tickets(first: 40, where: { uuidIn: $u }) { nodes {
  uuid request { resources { uuid name } }
} } }`;

describe('TicketRequest.resources and names: bounded per request and per operation', () => {
  it('8 tickets naming 6,000 uuids each: 100 resources per request, a null and RESOURCE_LIMIT_EXCEEDED at the cut, 1,000 names in 10 calls, NAME_LIMIT_EXCEEDED past them', async () => {
    const big = pending.slice(0, 8);
    expect(big).toHaveLength(8);
    big.forEach((uuid, i) => {
      makeBig(h, uuid, 2, 3000, i.toString(16));
    });

    // Twice: the second run goes through graphql-jit, which must cut and refuse the same way.
    for (const run of [1, 2]) {
      h.simulator.controls.clearRequests();
      const res = await h.gql<Any>(PAGE, { u: big }, { session: admin });
      const nodes = res.data.tickets.nodes as Any[];
      expect(nodes).toHaveLength(8);

      const listed: string[] = [];
      for (const [t, node] of nodes.entries()) {
        expect(node.request).toHaveLength(2);
        for (const [r, request] of (node.request as Any[]).entries()) {
          const resources = request.resources as Any[];
          // The first 100 uuids in apiBody order, then one null where the list was cut.
          expect(resources).toHaveLength(101);
          expect(resources[100]).toBeNull();
          const tag = `${big.indexOf(node.uuid).toString(16)}${r.toString(16)}`;
          expect(resources.slice(0, 100).map((x: Any) => x.uuid)).toEqual(unknownUuids(100, tag));
          const cut = res.errors?.find(
            (e) => e.path?.join('.') === `tickets.nodes.${t}.request.${r}.resources.100`,
          );
          expect(cut?.extensions).toEqual({ code: ErrorCode.RESOURCE_LIMIT_EXCEEDED, limit: 100 });
          listed.push(...resources.slice(0, 100).map((x: Any) => x.uuid));
        }
      }

      // 1,600 distinct uuids listed: the first 1,000 are looked up (10 calls of 100), the other 600
      // get NAME_LIMIT_EXCEEDED on name, without a call.
      const calls = namesCalls(h);
      expect(calls).toHaveLength(10);
      expect(askedUuids(calls).sort()).toEqual(listed.slice(0, 1000).sort());
      const all = codes(res);
      expect(count(all, ErrorCode.RESOURCE_LIMIT_EXCEEDED), `run ${run}`).toBe(16);
      expect(count(all, ErrorCode.NAME_LIMIT_EXCEEDED), `run ${run}`).toBe(600);
      expect(all).toHaveLength(616);
      const refused = res.errors?.filter((e) => e.extensions?.code === ErrorCode.NAME_LIMIT_EXCEEDED) ?? [];
      expect(refused[0]?.extensions?.limit).toBe(1000);
      expect(refused.every((e) => e.path?.at(-1) === 'name')).toBe(true);
      expect(new Set(refused.map((e) => e.path?.join('.'))).size).toBe(600);
    }
  });

  it('a normal page of the demo tickets still names everything in one call, without errors', async () => {
    const res = await h.gql<Any>(
      `{ tickets(first: 50) { nodes {
          accountSystemContext { project { name } virtualId { name } }
          request { resources { uuid name type } }
          history { operator { name } }
          flowCollection { flows { approver { name } } }
        } } }`,
      {},
      { session: admin },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.tickets.nodes.length).toBeGreaterThan(10);
    expect(res.data.tickets.nodes[0].request[0].resources.length).toBeGreaterThan(0);
    expect(res.data.tickets.nodes[0].request[0].resources.every((r: Any) => r !== null)).toBe(true);
    expect(namesCalls(h)).toHaveLength(1);
  });
});

describe('MAX_UPSTREAM_CALLS_PER_OPERATION: every call of an operation counts', () => {
  it('the 101st call of one operation is refused before it is sent', async () => {
    const doc = `{ ${Array.from({ length: 105 }, (_, i) => `t${i}: tickets(first: 1) { nodes { uuid } }`).join('\n')} }`;
    const res = await h.gql<Any>(doc, {}, { session: admin });
    // Fields start in document order: t100 is the first refused (connections are non-null, so the
    // refusal takes the whole data with it, as ROW_LIMIT_EXCEEDED does).
    expect(res.errors?.[0]).toMatchObject({
      path: ['t100'],
      extensions: { code: ErrorCode.UPSTREAM_CALL_LIMIT_EXCEEDED, limit: 100 },
    });
    expect(gets(h, '/tickets')).toHaveLength(100);
    expect(h.simulator.controls.requests).toHaveLength(100);
    // Each operation has its own budget.
    const next = await h.gql<Any>('{ tickets(first: 1) { nodes { uuid } } }', {}, { session: admin });
    expect(next.errors).toBeUndefined();
  });
});

describe('MAX_UPSTREAM_CALLS_PER_OPERATION=2: writes', () => {
  let small: Harness;
  beforeAll(async () => {
    small = await startHarness({
      env: { ZSTACK_TIME_ZONE: 'UTC', MAX_UPSTREAM_CALLS_PER_OPERATION: '2' },
    });
  });
  afterAll(() => small.close());

  it("a write counts once (its job's polls do not); the write past the ceiling is never sent", async () => {
    const c = small.simulator.controls;
    const session = await logInAdmin(small);
    const [x, y, z] = c
      .listTickets()
      .filter((t) => t.status === 'Pending')
      .map((t) => t.uuid as string) as [string, string, string];
    c.setJobLatency(30);
    c.clearRequests();
    const change = (alias: string, uuid: string) =>
      `${alias}: changeTicketStatus(input: { uuid: "${uuid}", statusEvent: REJECT }) { ticket { uuid status } }`;
    const res = await small.gql<Any>(
      `mutation { ${change('a', x)} ${change('b', y)} ${change('c', z)} }`,
      {},
      { session },
    );
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['c'], ErrorCode.UPSTREAM_CALL_LIMIT_EXCEEDED],
    ]);
    expect(c.count({ method: 'PUT' })).toBe(2);
    // Both jobs were polled at least once, and neither poll took the second write's place.
    expect(c.count({ method: 'GET', path: '/api-jobs/' })).toBeGreaterThanOrEqual(2);
    expect(c.getTicket(x)?.status).toBe('Rejected');
    expect(c.getTicket(y)?.status).toBe('Rejected');
    expect(c.getTicket(z)?.status).toBe('Pending');
  });
});

describe('ticketUpdated: each event resolves within its own budget', () => {
  it('5 streams on a ticket naming 3,000 uuids plus one update: 10 names calls per stream, not 30', async () => {
    const uuid = pending[0] as string;
    // 15 requests × 200 uuids: 1,500 listed (100 per request), 1,000 of them named per event.
    makeBig(h, uuid, 15, 200, 'a');
    const WATCH =
      'subscription($u: [ID!]) { ticketUpdated(uuids: $u) { uuid request { resources { name } } } }';
    for (let i = 0; i < 5; i++) open.push(await subscribe(h.url, WATCH, { u: [uuid] }, admin));
    await waitFor(() => h.gateway.feed.size === 5, 'five streams');
    h.simulator.controls.clearRequests();

    const change = await h.gql(
      'mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid } } }',
      { input: { uuid, statusEvent: 'REJECT' } },
      { session: admin },
    );
    expect(change.errors).toBeUndefined();
    for (const sub of open) {
      const event = await sub.next(10_000);
      const requests = (event.data as Any).ticketUpdated.request as Any[];
      expect(requests).toHaveLength(15);
      for (const r of requests) expect(r.resources).toHaveLength(101);
      const all = (event.errors ?? []).map((e) => e.extensions?.code);
      expect(count(all, ErrorCode.RESOURCE_LIMIT_EXCEEDED)).toBe(15);
      expect(count(all, ErrorCode.NAME_LIMIT_EXCEEDED)).toBe(500);
    }
    expect(namesCalls(h)).toHaveLength(50);
  });
});
