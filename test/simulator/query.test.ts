import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { asyncCall, call, loginAccount, start } from './support.js';

let sim: Simulator;
let session: string;
// biome-ignore lint/suspicious/noExplicitAny: wire JSON
type Inv = Record<string, any>;
let allTickets: Inv[];
let allHistories: Inv[];

beforeAll(async () => {
  sim = await start();
  session = await loginAccount(sim);
  allTickets = (await get('/v1/tickets')).json.inventories;
  allHistories = (await get('/v1/tickets/histories')).json.inventories;
});
afterAll(() => sim.close());

function get(pathAndQuery: string) {
  return call(sim, 'GET', pathAndQuery, { session });
}

async function inventories(pathAndQuery: string): Promise<Inv[]> {
  const r = await get(pathAndQuery);
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return r.json.inventories;
}

describe('q operators', () => {
  it('seed sanity: 50 tickets in every status, with histories', () => {
    expect(allTickets).toHaveLength(50);
    expect(new Set(allTickets.map((t) => t.status))).toEqual(
      new Set(['Pending', 'IntermediateApproved', 'FinalApproved', 'Rejected', 'Cancelled']),
    );
    expect(allHistories.length).toBeGreaterThan(50);
  });

  const byStatus = (s: string) => allTickets.filter((t) => t.status === s);

  it.each([
    ['status=Pending', (t: Inv) => t.status === 'Pending'],
    ['status!=Pending', (t: Inv) => t.status !== 'Pending'],
    ['status?=Pending,Rejected', (t: Inv) => ['Pending', 'Rejected'].includes(t.status)],
    ['status!?=Pending,Rejected', (t: Inv) => !['Pending', 'Rejected'].includes(t.status)],
    ['name~=demo ticket 1%25', (t: Inv) => /^demo ticket 1\d*$/.test(t.name)],
    ['name~=demo ticket _', (t: Inv) => /^demo ticket \d$/.test(t.name)],
    ['name~=%25ticket 4_', (t: Inv) => /ticket 4\d$/.test(t.name)],
    ['name!~=%25ticket 4_', (t: Inv) => !/ticket 4\d$/.test(t.name)],
    ['description is null', (t: Inv) => t.description === undefined],
    ['description not null', (t: Inv) => t.description !== undefined],
    ['createDate<2024-06-07 15:00:00', (t: Inv) => ['demo ticket 1', 'demo ticket 2'].includes(t.name)],
  ])('tickets q=%s', async (q, expected) => {
    const got = await inventories(`/v1/tickets?q=${q}`);
    const want = allTickets.filter(expected);
    expect(want.length).toBeGreaterThan(0);
    expect(got.map((t) => t.uuid).sort()).toEqual(want.map((t) => t.uuid).sort());
  });

  it.each([
    ['sequence>3', (h: Inv) => h.sequence > 3],
    ['sequence<2', (h: Inv) => h.sequence < 2],
    ['sequence>=3', (h: Inv) => h.sequence >= 3],
    ['sequence<=2', (h: Inv) => h.sequence <= 2],
    ['sequence=4', (h: Inv) => h.sequence === 4],
    // fromStatus is NOT NULL (V2.4.0 migration): no row lacks one.
    ['fromStatus is null', (h: Inv) => h.fromStatus === undefined, 0],
    ['fromStatus not null', (h: Inv) => h.fromStatus !== undefined],
  ])('histories q=%s (int comparisons)', async (q, expected, count?: number) => {
    const got = await inventories(`/v1/tickets/histories?q=${q}`);
    const want = allHistories.filter(expected);
    if (count === undefined) expect(want.length).toBeGreaterThan(0);
    else expect(want).toHaveLength(count);
    expect(got.map((h) => h.uuid).sort()).toEqual(want.map((h) => h.uuid).sort());
  });

  it('conditions are ANDed', async () => {
    const got = await inventories('/v1/tickets/histories?q=toStatus=Pending&q=sequence>1');
    const want = allHistories.filter((h) => h.toStatus === 'Pending' && h.sequence > 1);
    expect(want.length).toBeGreaterThan(0);
    expect(got).toHaveLength(want.length);
  });

  it('IN splits on commas', async () => {
    const [a, b] = allTickets;
    const got = await inventories(`/v1/tickets?q=uuid?=${a?.uuid},${b?.uuid}`);
    expect(got.map((t) => t.uuid).sort()).toEqual([a?.uuid, b?.uuid].sort());
  });

  it('the first operator found anywhere wins: name=a~=b is a LIKE on the field "name=a"', async () => {
    const r = await get('/v1/tickets?q=name=a~=b');
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('SYS.1000');
    expect(r.json.error.details).toContain('name=a');
    // `!=` is tried before `=`, so this is "comment=x" != "y", not comment = "x!=y".
    const r2 = await get('/v1/tickets/histories?q=comment=x!=y');
    expect(r2.status).toBe(503);
    expect(r2.json.error.details).toContain('comment=x');
  });

  it('names are trimmed, values are not; + decodes to a space', async () => {
    expect(await inventories('/v1/tickets?q=%20status%20=Pending')).toHaveLength(byStatus('Pending').length);
    expect(await inventories('/v1/tickets?q=status=%20Pending')).toHaveLength(0);
    const plus = await inventories('/v1/tickets?q=name=demo+ticket+7');
    expect(plus.map((t) => t.name)).toEqual(['demo ticket 7']);
  });

  it('nested fields reach into nested inventories', async () => {
    const approver = sim.controls.demo.approvers[1]?.uuid;
    expect(await inventories(`/v1/tickets/flow-collections?q=flows.approverUuid=${approver}`)).toHaveLength(
      1,
    );
    expect(await inventories('/v1/tickets/flow-collections?q=flows.approverUuid=nobody')).toHaveLength(0);
    expect(await inventories('/v1/tickets/flow-collections?q=flows.name~=operations%25')).toHaveLength(1);
  });

  it.each([
    ['unknown field', '/v1/tickets?q=colour=red'],
    ['reaching into free-form JSON', '/v1/tickets?q=accountSystemContext.projectUuid=x'],
    ['a non-number for an int', '/v1/tickets/histories?q=sequence>many'],
    ['a non-boolean for a bool', '/v1/ticket-types?q=adminOnly=maybe'],
    ['sorting by an unknown field', '/v1/tickets?sort=colour'],
    ['an unknown field in fields', '/v1/tickets?fields=uuid,colour'],
    // RestServer L1185: `fields=` is one empty field and `uuid,,name` keeps its empty one; ZQL refuses both.
    ['an empty fields=', '/v1/tickets?fields='],
    ['an empty piece in fields', '/v1/tickets?fields=uuid,,name'],
  ])(
    '%s → sync 503 SYS.1000 (ZQLMetadata.FieldChainQuery.verify L173, wrapped by QueryFacadeImpl L379)',
    async (_name, path) => {
      const r = await get(path);
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('SYS.1000');
      expect(r.json.error.details).toMatch(/^org\.zstack\.header\.exception\.CloudRuntimeException: /);
    },
  );

  it('an unknown field names the inventory class as ZQLMetadata.FieldChainQuery.verify does (L173)', async () => {
    const r = await get('/v1/tickets?q=colour=red');
    expect(r.json.error).toMatchObject({
      code: 'SYS.1000',
      description: 'An internal error happened in system',
      details:
        'org.zstack.header.exception.CloudRuntimeException: inventory class[class org.zstack.ticket.entity.TicketInventory] not having field[colour]',
    });
  });

  const OPS = '[!=, >=, <=, !?=, !~=, ~=, ?=, =, >, <, is null, not null]';
  it.each([
    ['/v1/tickets?limit=abc', "Invalid query parameter. 'limit' must be an integer"],
    ['/v1/tickets?limit=1.5', "Invalid query parameter. 'limit' must be an integer"],
    ['/v1/tickets?limit=2147483648', "Invalid query parameter. 'limit' must be an integer"],
    ['/v1/tickets?start=x', "Invalid query parameter. 'start' must be an integer"],
    // Java's split drops trailing empty strings: only a list of commas is "zero field" (RestServer L1185).
    ['/v1/tickets?fields=,', "Invalid query parameter. 'fields' contains zero field"],
    ['/v1/tickets?fields=,,,', "Invalid query parameter. 'fields' contains zero field"],
    [
      '/v1/tickets?q=status',
      `Invalid query parameter. The 'status' in the parameter[q] doesn't contain any query operator. Valid query operators are ${OPS}`,
    ],
    [
      '/v1/tickets?q=%3DPending',
      "Invalid query parameter. The '=Pending' in parameter[q] is not a key-value pair split by =",
    ],
    // The operator is named by its QueryOp (SQL) form, not as sent.
    [
      '/v1/tickets?q=%3F%3Da,b',
      "Invalid query parameter. The '?=a,b' in parameter[q] is not a key-value pair split by in",
    ],
    [
      '/v1/tickets?q=!~%3Dx',
      "Invalid query parameter. The '!~=x' in parameter[q] is not a key-value pair split by not like",
    ],
  ])('%s → 400 plain text', async (path, text) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.text).toBe(text);
  });

  it('splits a condition the way commons-lang splitByWholeSeparator does: a trailing or doubled operator is no 400', async () => {
    // `status=` is the name `status` and the empty value: no ticket has an empty status.
    const empty = await get('/v1/tickets?q=status%3D');
    expect(empty.status).toBe(200);
    expect(empty.json.inventories).toEqual([]);
    // `status==Pending`: the empty piece between the two separators is dropped, the value is `Pending`.
    const doubled = await inventories('/v1/tickets?q=status%3D%3DPending');
    expect(doubled.map((t) => t.uuid)).toEqual(
      allTickets.filter((t) => t.status === 'Pending').map((t) => t.uuid),
    );
    // A blank name passes the REST layer and is refused by ZQL (503), not as a 400.
    for (const path of ['/v1/tickets?q=%20%3Dx', '/v1/tickets?q=%20is%20null']) {
      const r = await get(path);
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('SYS.1000');
    }
  });

  it.each([
    ['limit', '/v1/tickets?limit=-1', 'max-results cannot be negative'],
    ['start', '/v1/tickets?start=-2', 'first-result value cannot be negative : -2'],
  ])(
    'a negative %s passes the REST layer and fails in the query (sync 503 SYS.1000, Hibernate 5.3.26 AbstractProducedQuery wording, pinned in ZStack pom.xml)',
    async (_n, path, why) => {
      const r = await get(path);
      expect(r.status).toBe(503);
      expect(r.json.error).toMatchObject({
        code: 'SYS.1000',
        details: `java.lang.IllegalArgumentException: ${why}`,
      });
      // A count query has no limit or offset to hand on.
      const count = await get(`${path}&count=true`);
      expect(count.status).toBe(200);
      expect(count.json.total).toBe(50);
    },
  );
});

describe('paging, counting, sorting, projection', () => {
  it('without limit every row comes back (default limit 1000) in a stable order', async () => {
    const again = await inventories('/v1/tickets/histories');
    expect(again.map((h) => h.uuid)).toEqual(allHistories.map((h) => h.uuid));
  });

  it('limit and start page through the default order', async () => {
    const page = await inventories('/v1/tickets?limit=5&start=5');
    expect(page.map((t) => t.uuid)).toEqual(allTickets.slice(5, 10).map((t) => t.uuid));
    expect(await inventories('/v1/tickets?limit=0')).toEqual([]);
  });

  it('count=true answers only total and schema', async () => {
    const r = await get('/v1/tickets?count=true&q=status=Pending');
    expect(r.json).toEqual({ total: allTickets.filter((t) => t.status === 'Pending').length, schema: {} });
  });

  it('replyWithCount=true adds the unpaged total; without it there is no total', async () => {
    const r = await get('/v1/tickets?replyWithCount=true&limit=2');
    expect(r.json.total).toBe(50);
    expect(r.json.inventories).toHaveLength(2);
    expect(r.json.schema).toEqual({
      'inventories[0]': 'org.zstack.ticket.entity.TicketInventory',
      'inventories[1]': 'org.zstack.ticket.entity.TicketInventory',
    });
    expect((await get('/v1/tickets?limit=2')).json).not.toHaveProperty('total');
  });

  it('sort: -f descending, %2Bf and bare f ascending, raw + (a space) ascending', async () => {
    const names = (list: Inv[]) => list.map((t) => t.name as string);
    const asc = [...names(allTickets)].sort();
    expect(names(await inventories('/v1/tickets?sort=name'))).toEqual(asc);
    expect(names(await inventories('/v1/tickets?sort=%2Bname'))).toEqual(asc);
    expect(names(await inventories('/v1/tickets?sort=+name'))).toEqual(asc);
    expect(names(await inventories('/v1/tickets?sort=-name'))).toEqual([...asc].reverse());
    const seq = (await inventories('/v1/tickets/histories?sort=-sequence')).map((h) => h.sequence as number);
    expect(seq).toEqual([...seq].sort((a, b) => b - a));
  });

  it('sorts dates by time, not by their text', async () => {
    const dates = (await inventories('/v1/tickets?sort=-createDate&limit=3')).map((t) => t.name);
    expect(dates).toEqual(['demo ticket 50', 'demo ticket 49', 'demo ticket 48']);
  });

  it('a repeated limit, start, sort, fields, count or replyWithCount is no error: the first value wins', async () => {
    const uuids = (list: Inv[]) => list.map((t) => t.uuid);
    expect(uuids(await inventories('/v1/tickets?limit=2&limit=5&start=3&start=0'))).toEqual(
      uuids(allTickets.slice(3, 5)),
    );
    const byName = await inventories('/v1/tickets?sort=-name&sort=name&limit=3');
    expect(byName.map((t) => t.name)).toEqual(
      allTickets
        .map((t) => t.name as string)
        .sort()
        .reverse()
        .slice(0, 3),
    );
    const projected = await inventories('/v1/tickets?fields=uuid&fields=status,name&limit=2');
    for (const t of projected) expect(Object.keys(t)).toEqual(['uuid']);
    const counted = await get(
      '/v1/tickets?count=false&count=true&replyWithCount=true&replyWithCount=false&limit=1',
    );
    // count=false wins (a list comes back), replyWithCount=true wins (with the total).
    expect(counted.json.total).toBe(50);
    expect(counted.json.inventories).toHaveLength(1);
  });

  it('fields projects each inventory', async () => {
    const list = await inventories('/v1/tickets?fields=uuid,status&limit=3');
    for (const t of list) expect(Object.keys(t).sort()).toEqual(['status', 'uuid']);
  });
});

describe('the /{uuid} form', () => {
  it('answers 200 with an empty list for an unknown uuid', async () => {
    for (const base of ['/v1/tickets', '/v1/tickets/histories', '/v1/ticket-types', '/v1/tickets/flow']) {
      const r = await get(`${base}/${'e'.repeat(32)}`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ inventories: [], schema: {} });
    }
  });

  it('finds the resource and ignores every other parameter', async () => {
    const t = allTickets[3] as Inv;
    const list = await inventories(`/v1/tickets/${t.uuid}?q=status=Nope&limit=0&fields=name&count=true`);
    expect(list).toEqual([t]);
    const fc = sim.controls.demo.flowCollectionUuid;
    expect((await inventories(`/v1/tickets/flow-collections/${fc}`))[0]?.flows).toHaveLength(2);
    const type = sim.controls.demo.ticketTypeUuids[0];
    expect((await inventories(`/v1/ticket-types/${type}`))[0]?.uuid).toBe(type);
  });
});

describe('archives', () => {
  it('a deleted ticket and its history move to the archive queries', async () => {
    const t = allTickets.find((x) => x.status === 'FinalApproved') as Inv;
    onTestFinished(() => sim.controls.reset());
    const job = await asyncCall(sim, 'DELETE', `/v1/tickets/${t.uuid}?deleteMode=Permissive`, { session });
    expect(job.status).toBe(200);
    expect(job.text).toBe('{}');
    expect(await inventories(`/v1/tickets/${t.uuid}`)).toEqual([]);
    const archived = await inventories(`/v1/tickets/archives?q=ticketUuid=${t.uuid}`);
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({ name: t.name, status: 'FinalApproved', ticketUuid: t.uuid });
    const hist = await inventories(`/v1/tickets/histories/archives?q=ticketUuid=${t.uuid}&sort=sequence`);
    expect(hist.map((h) => h.toStatus)).toEqual(
      allHistories.filter((h) => h.ticketUuid === t.uuid).map((h) => h.toStatus),
    );
    expect(await inventories(`/v1/tickets/histories?q=ticketUuid=${t.uuid}`)).toEqual([]);
  });
});
