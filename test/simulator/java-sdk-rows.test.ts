/**
 * What ZStack's own Java SDK noticed (issue 25, rows D1–D17): each test names the row and the ZStack
 * source (zstackio/zstack at 5a29293) it follows. Where the ticket module (closed source) decides,
 * the simulator README says what was chosen.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { asyncCall, call, loginAccount, loginVirtualId, sha512, start } from './support.js';

let sim: Simulator;
let admin: string;
// biome-ignore lint/suspicious/noExplicitAny: wire JSON
type Inv = Record<string, any>;

beforeAll(async () => {
  sim = await start();
  admin = await loginAccount(sim);
});
afterAll(() => sim.close());

const get = (path: string, headers?: Record<string, string>) =>
  call(sim, 'GET', path, { session: admin, headers });

async function inventories(path: string): Promise<Inv[]> {
  const r = await get(path);
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return r.json.inventories;
}

describe('D1: GetResourceNames rows are ResourceInventory (AccountManagerImpl ~L269, ResourceVO.prePersist, RestServer.writeResponse ~L1227)', () => {
  it('D1: every row carries concreteResourceType, the Java class name (ResourceVO.prePersist: getClass().getName())', async () => {
    const { demo } = sim.controls;
    const vid = demo.approvers[0]?.uuid as string;
    const ticket = sim.controls.listTickets()[0]?.uuid as string;
    const r = await get(`/v1/resources/names?uuids=${demo.admin.uuid}&uuids=${vid}&uuids=${ticket}`);
    const byUuid = new Map((r.json.inventories as Inv[]).map((x) => [x.uuid, x]));
    expect(byUuid.get(demo.admin.uuid)).toEqual({
      uuid: demo.admin.uuid,
      resourceName: 'admin',
      resourceType: 'AccountVO',
      concreteResourceType: 'org.zstack.header.identity.AccountVO',
    });
    expect(byUuid.get(vid)?.concreteResourceType).toBe('org.zstack.iam2.entity.IAM2VirtualIDVO');
    expect(byUuid.get(ticket)?.concreteResourceType).toBe('org.zstack.ticket.entity.TicketVO');
    for (const row of byUuid.values()) expect(typeof row.concreteResourceType).toBe('string');
  });

  it('D1: X-JSON-Schema adds schema to a GetResourceNames reply (writeResponse: any reply, not only queries)', async () => {
    const { demo } = sim.controls;
    const vid = demo.approvers[0]?.uuid as string;
    const r = await get(`/v1/resources/names?uuids=${demo.admin.uuid}&uuids=${vid}`, {
      'X-JSON-Schema': 'true',
    });
    expect(r.status).toBe(200);
    expect(r.json.schema).toEqual({
      'inventories[0]': 'org.zstack.header.vo.ResourceInventory',
      'inventories[1]': 'org.zstack.header.vo.ResourceInventory',
    });
    const plain = await get(`/v1/resources/names?uuids=${demo.admin.uuid}`);
    expect(plain.json).not.toHaveProperty('schema');
    // Other sync replies too: ValidateSession's {valid} gets an (empty) schema.
    const valid = await call(sim, 'GET', `/v1/accounts/sessions/${admin}/valid`, {
      headers: { 'X-JSON-Schema': 'true' },
    });
    expect(valid.json).toEqual({ schema: {}, valid: true });
  });
});

describe('D2/D3: history rows (V2.4.0 and V4.0.0 migrations of TicketStatusHistoryVO)', () => {
  it('D2: sequence is one AUTO_INCREMENT counter for the whole table (V4.0.0: INT AUTO_INCREMENT UNIQUE), not 1..n per ticket', async () => {
    const all = await inventories('/v1/tickets/histories');
    const seqs = all.map((h) => h.sequence as number);
    expect(new Set(seqs).size).toBe(seqs.length);
    // In creation order the numbers only grow.
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // Only the first ticket's first row can be 1.
    expect(all.filter((h) => h.sequence === 1)).toHaveLength(1);
    const second = sim.controls.listTickets()[1]?.uuid;
    const rows = all.filter((h) => h.ticketUuid === second);
    expect(rows[0]?.sequence).toBeGreaterThan(1);
  });

  it('D2: archived rows keep the sequence they had (one counter; the archive copy is the simulator’s choice)', async () => {
    const live = new Set((await inventories('/v1/tickets/histories')).map((h) => h.sequence));
    const archived = await inventories('/v1/tickets/histories/archives');
    expect(archived.length).toBeGreaterThan(0);
    const seqs = archived.map((h) => h.sequence as number);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const s of seqs) expect(live.has(s)).toBe(false);
  });

  it('D3: every row has a fromStatus (V2.4.0: fromStatus VARCHAR(255) NOT NULL); the creation row is Pending → Pending', async () => {
    const all = await inventories('/v1/tickets/histories');
    for (const h of all) expect(typeof h.fromStatus).toBe('string');
    expect((await inventories('/v1/tickets/histories?q=fromStatus is null')).length).toBe(0);
    const first = all.find((h) => h.ticketUuid === sim.controls.listTickets()[0]?.uuid);
    expect(first).toMatchObject({ fromStatus: 'Pending', toStatus: 'Pending' });
  });
});

describe('D4: paths shared by a query and a write dispatch by method (RestServer.build ~L1372-1407, handleNonUniqueApi ~L759-809)', () => {
  it('D4: POST /v1/tickets/flow-collections and POST /v1/tickets/flow are 202 and a job that creates', async () => {
    onTestFinished(() => sim.controls.reset());
    const { demo } = sim.controls;
    const first = await call(sim, 'POST', '/v1/tickets/flow-collections', {
      session: admin,
      body: {
        params: {
          name: 'one-step',
          projectUuid: demo.projectUuid,
          flows: [{ name: 'lead', approverUuid: demo.approvers[0]?.uuid }],
        },
      },
    });
    expect(first.status).toBe(202);
    const created = await asyncCall(sim, 'POST', '/v1/tickets/flow-collections', {
      session: admin,
      headers: { 'X-JSON-Schema': 'true' },
      body: {
        params: {
          name: 'two-step',
          projectUuid: demo.projectUuid,
          flows: [{ name: 'lead', approverUuid: demo.approvers[0]?.uuid }],
        },
      },
    });
    expect(created.status).toBe(200);
    const collection = created.json.inventory;
    expect(collection).toMatchObject({ name: 'two-step', state: 'Enabled', isDefault: false });
    expect(collection.flows).toHaveLength(1);
    const flow = await asyncCall(sim, 'POST', '/v1/tickets/flow', {
      session: admin,
      body: {
        params: { collectionUuid: collection.uuid, approverUuid: demo.approvers[1]?.uuid, name: 'ops' },
      },
    });
    expect(flow.status).toBe(200);
    expect(flow.json.inventory).toMatchObject({
      name: 'ops',
      collectionUuid: collection.uuid,
      parentFlowUuid: collection.flows[0].uuid,
      valid: true,
    });
    const again = await inventories(`/v1/tickets/flow-collections/${collection.uuid}`);
    expect(again[0]?.flows.map((f: Inv) => f.name)).toEqual(['lead', 'ops']);
  });

  it('D4: the create job answers with X-JSON-Schema the way JsonSchemaBuilder maps an event (inventory and its flows)', async () => {
    onTestFinished(() => sim.controls.reset());
    const { demo } = sim.controls;
    const first = await call(sim, 'POST', '/v1/tickets/flow-collections', {
      session: admin,
      headers: { 'X-JSON-Schema': 'true' },
      body: {
        params: {
          name: 'schema',
          projectUuid: demo.projectUuid,
          flows: [{ approverUuid: demo.approvers[0]?.uuid }],
        },
      },
    });
    const path = new URL(first.json.location).pathname.replace(/^\/zstack/, '');
    const job = await call(sim, 'GET', path, { headers: { 'X-JSON-Schema': 'true' } });
    expect(job.status).toBe(200);
    expect(job.json.schema).toEqual({
      inventory: 'org.zstack.ticket.iam2.entity.IAM2TicketFlowCollectionInventory',
      'inventory.flows[0]': 'org.zstack.ticket.iam2.entity.IAM2TicketFlowInventory',
    });
  });

  it('D4: DELETE /v1/tickets/flow/{uuid} and …/flow-collections/{uuid} are 202 and a job; an unknown uuid fails the job', async () => {
    onTestFinished(() => sim.controls.reset());
    const { demo } = sim.controls;
    const created = await asyncCall(sim, 'POST', '/v1/tickets/flow-collections', {
      session: admin,
      body: {
        params: {
          name: 'short-lived',
          projectUuid: demo.projectUuid,
          flows: [
            { name: 'a', approverUuid: demo.approvers[0]?.uuid },
            { name: 'b', approverUuid: demo.approvers[1]?.uuid },
          ],
        },
      },
    });
    const c = created.json.inventory;
    const delFlow = await asyncCall(
      sim,
      'DELETE',
      `/v1/tickets/flow/${c.flows[0].uuid}?deleteMode=Permissive`,
      {
        session: admin,
      },
    );
    expect(delFlow.status).toBe(200);
    expect(delFlow.text).toBe('{}');
    const left = await inventories(`/v1/tickets/flow-collections/${c.uuid}`);
    expect(left[0]?.flows.map((f: Inv) => f.name)).toEqual(['b']);
    expect(left[0]?.flows[0]).not.toHaveProperty('parentFlowUuid');
    const delColl = await asyncCall(sim, 'DELETE', `/v1/tickets/flow-collections/${c.uuid}`, {
      session: admin,
    });
    expect(delColl.status).toBe(200);
    expect(await inventories(`/v1/tickets/flow-collections/${c.uuid}`)).toEqual([]);
    const unknown = await asyncCall(sim, 'DELETE', `/v1/tickets/flow-collections/${'e'.repeat(32)}`, {
      session: admin,
    });
    expect(unknown.status).toBe(503);
    expect(unknown.json.error.code).toBe('SYS.1003');
    // The collection the tickets go through cannot go while unfinished tickets use it.
    const busy = await asyncCall(sim, 'DELETE', `/v1/tickets/flow-collections/${demo.flowCollectionUuid}`, {
      session: admin,
    });
    expect(busy.json.error.code).toBe('SYS.1006');
  });

  it('D4: the writes are admin only (a virtual ID gets ID.1002)', async () => {
    const alice = await loginVirtualId(sim, 'alice');
    const job = await asyncCall(sim, 'POST', '/v1/tickets/flow', {
      session: alice,
      body: { params: { collectionUuid: sim.controls.demo.flowCollectionUuid, approverUuid: 'x' } },
    });
    expect(job.status).toBe(503);
    expect(job.json.error.code).toBe('ID.1002');
  });
});

describe('D5: filterName (QueryFacadeImpl ~L474, L517-521, L126)', () => {
  it.each([
    ['foo', 'SYS.1007', 'filterName must be formatted as [filterType:condition(s)]'],
    ['foo:', 'SYS.1007', 'filterName must be formatted as [filterType:condition(s)]'],
    [
      'foo:bar',
      'SYS.1000',
      'org.zstack.header.exception.CloudRuntimeException: unable to find QueryBelongFilter with type[foo:bar]',
    ],
  ])('D5: filterName=%s → 503 %s', async (filter, code, details) => {
    const r = await get(`/v1/tickets?filterName=${encodeURIComponent(filter)}`);
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ code, details });
  });

  it('D5: an empty filterName is no filter (StringUtils.isEmpty)', async () => {
    expect(await inventories('/v1/tickets?filterName=&limit=2')).toHaveLength(2);
  });
});

describe('D6/D7: methods (RestServer ~L768-803, RestServerController mappings)', () => {
  it.each([
    ['DELETE', '/v1/tickets', 'No delete API found for the path[/zstack/v1/tickets]'],
    ['POST', '/v1/tickets/abc', 'No creational API found for the path[/zstack/v1/tickets/abc]'],
    ['GET', '/v1/tickets/abc/actions', 'No query API found for the path[/zstack/v1/tickets/abc/actions]'],
  ])('D6: %s %s → 500 plain text naming the request URI', async (method, path, text) => {
    const r = await call(sim, method, path, { session: admin });
    expect(r.status).toBe(500);
    expect(r.text).toBe(text);
  });

  it('D6: HEAD on a shared path → 405 (the else branch of handleNonUniqueApi)', async () => {
    const r = await call(sim, 'HEAD', '/v1/tickets/abc', { session: admin });
    expect(r.status).toBe(405);
  });

  it('D7: PATCH never reaches an API: Spring answers 405 with Allow, the container’s page, nothing changes', async () => {
    const uuid = sim.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    sim.controls.clearRequests();
    const r = await call(sim, 'PATCH', `/v1/tickets/${uuid}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST,PUT,DELETE,GET,HEAD');
    expect(r.headers.get('content-type')).toBe('text/html;charset=utf-8');
    expect(r.text).toContain('HTTP Status 405');
    expect(sim.controls.getTicket(uuid)?.status).toBe('Pending');
    // A unique path too (the unique-path quirk ignores the method only among the mapped ones).
    const login = await call(sim, 'PATCH', '/v1/accounts/login', {
      body: { logInByAccount: { accountName: 'admin', password: sha512('password') } },
    });
    expect(login.status).toBe(405);
  });

  it('D7: OPTIONS never reaches an API: 200, an Allow header, no body', async () => {
    const r = await call(sim, 'OPTIONS', '/v1/accounts/login', {
      body: { logInByAccount: { accountName: 'admin', password: sha512('password') } },
    });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(r.headers.get('allow')).toBe('POST,PUT,DELETE,GET,HEAD,OPTIONS');
  });
});

describe('D8/D9: what ZQL and Hibernate refuse (ZQLMetadata.FieldChainQuery.verify ~L173, QueryFacadeImpl ~L379, pom.xml Hibernate 5.3.26)', () => {
  it.each([
    [
      '/v1/tickets?q=colour=red',
      'inventory class[class org.zstack.ticket.entity.TicketInventory] not having field[colour]',
    ],
    [
      '/v1/tickets?sort=colour',
      'inventory class[class org.zstack.ticket.entity.TicketInventory] not having field[colour]',
    ],
    [
      '/v1/tickets?fields=uuid,colour',
      'inventory class[class org.zstack.ticket.entity.TicketInventory] not having field[colour]',
    ],
    ['/v1/tickets/histories?q=sequence>many', 'invalid value[many] for field[sequence]'],
  ])('D8: %s → 503 SYS.1000, a wrapped CloudRuntimeException', async (path, message) => {
    const r = await get(path);
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({
      code: 'SYS.1000',
      details: `org.zstack.header.exception.CloudRuntimeException: ${message}`,
    });
  });

  it.each([
    ['/v1/tickets?limit=-1', 'java.lang.IllegalArgumentException: max-results cannot be negative'],
    [
      '/v1/tickets?start=-1',
      'java.lang.IllegalArgumentException: first-result value cannot be negative : -1',
    ],
  ])('D9: %s → SYS.1000 in Hibernate 5.3 words (AbstractProducedQuery)', async (path, details) => {
    const r = await get(path);
    expect(r.json.error).toMatchObject({ code: 'SYS.1000', details });
  });
});

describe('D10: query parameters (RestServer ~L1102, L1136, L1185)', () => {
  it('D10: values are trimmed: limit=%201 is 1, count=%20true counts', async () => {
    expect(await inventories('/v1/tickets?limit=%201')).toHaveLength(1);
    expect((await get('/v1/tickets?count=%20true%20')).json.total).toBe(50);
    expect(await inventories('/v1/tickets?sort=%20-name%20&limit=1')).toMatchObject([
      { name: 'demo ticket 9' },
    ]);
  });

  it('D10: fields= and fields=uuid,,name reach ZQL and fail 503; fields=, is the 400 with its "Invalid query parameter. " prefix', async () => {
    for (const path of ['/v1/tickets?fields=', '/v1/tickets?fields=uuid,,name']) {
      const r = await get(path);
      expect(r.status, path).toBe(503);
      expect(r.json.error.code, path).toBe('SYS.1000');
    }
    const comma = await get('/v1/tickets?fields=,');
    expect(comma.status).toBe(400);
    expect(comma.text).toBe("Invalid query parameter. 'fields' contains zero field");
    // Trailing empties are dropped by Java's split: uuid,name, is uuid and name.
    const trailing = await inventories('/v1/tickets?fields=uuid,name,&limit=1');
    expect(Object.keys(trailing[0] ?? {}).sort()).toEqual(['name', 'uuid']);
  });

  it('D10: an empty parameter name is taken as q ("q".startsWith(varname))', async () => {
    const r = await inventories('/v1/tickets?=status%3DPending');
    const pending = sim.controls.listTickets().filter((t) => t.status === 'Pending');
    expect(r.map((t) => t.uuid).sort()).toEqual(pending.map((t) => t.uuid).sort());
  });
});

describe('D11: Authorization (RestServer.handleApi ~L864-902, checkTime ~L1026, AccountManagerImpl.doAuth ~L1781)', () => {
  it('D11: an empty OAuth value is an empty session uuid: ID.1001 "Session expired"', async () => {
    const r = await call(sim, 'GET', '/v1/tickets', { headers: { Authorization: 'OAuth' } });
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ code: 'ID.1001', details: 'Session expired' });
  });

  it('D11: an access key needs Date, in EEE, dd MMM yyyy HH:mm:ss z, within 15 minutes, as id:signature', async () => {
    const auth = (a: string, date?: string) =>
      call(sim, 'GET', '/v1/tickets', {
        headers: date ? { Authorization: a, Date: date } : { Authorization: a },
      });
    const noDate = await auth('ZStack key:sig');
    expect([noDate.status, noDate.text]).toEqual([400, "'Date' must be incuded in request header"]);
    const badDate = await auth('ZStack key:sig', '2024-01-01');
    expect([badDate.status, badDate.text]).toEqual([
      400,
      "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'",
    ]);
    const old = await auth('ZStack key:sig', 'Mon, 01 Jan 2024 00:00:00 GMT');
    expect([old.status, old.text]).toEqual([403, 'requestTimeTooSkewed']);
    const now = new Date().toUTCString(); // e.g. "Fri, 04 Dec 2026 16:00:00 GMT"
    const shape = await auth('ZStack keyonly', now);
    expect([shape.status, shape.text]).toEqual([400, "accessKey format is 'ZStack AccessKeyId:Signature'"]);
    // The verifier is closed source; the simulator has no backend for access keys.
    const none = await auth('ZStack key:sig', now);
    expect([none.status, none.text]).toEqual([
      400,
      'unable to find RestAuthenticationBackend[provider type: ZStack]',
    ]);
  });
});

describe('D13: only /v1/** is mapped (RestServerController, RestConstants.ALL_PATH)', () => {
  it('D13: /zstack/foo → the servlet container’s HTML 404, not ZStack’s text', async () => {
    const r = await call(sim, 'GET', '/foo', { session: admin });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/html;charset=utf-8');
    expect(r.text).toContain('HTTP Status 404');
    expect(r.text).not.toContain('no api mapping');
    // Under /v1/ it is ZStack's own text.
    expect((await call(sim, 'GET', '/v1/foo', { session: admin })).text).toBe('no api mapping to /v1/foo');
  });
});

describe('D14: MySQL collation and ResourceVO (V3.1.1 migration; tables DEFAULT CHARSET=utf8, no collation)', () => {
  it('D14: GetResourceNames names a history row (TicketStatusHistoryVO is in ResourceVO)', async () => {
    const h = (await inventories('/v1/tickets/histories?limit=1'))[0] as Inv;
    const r = await get(`/v1/resources/names?uuids=${h.uuid}`);
    expect(r.json.inventories).toEqual([
      {
        uuid: h.uuid,
        resourceType: 'TicketStatusHistoryVO',
        concreteResourceType: 'org.zstack.ticket.entity.TicketStatusHistoryVO',
      },
    ]);
  });

  it('D14: q= values compare case-insensitively (=, !=, IN, LIKE), as utf8_general_ci does', async () => {
    const exact = await inventories('/v1/tickets?q=name=demo ticket 7');
    expect(exact.map((t) => t.name)).toEqual(['demo ticket 7']);
    expect(await inventories('/v1/tickets?q=name=DEMO TICKET 7')).toEqual(exact);
    expect(await inventories('/v1/tickets?q=status=pending')).toHaveLength(
      sim.controls.listTickets().filter((t) => t.status === 'Pending').length,
    );
    expect(await inventories('/v1/tickets?q=name?=Demo Ticket 7,x')).toEqual(exact);
    expect((await inventories('/v1/tickets?q=name~=%25TICKET 1%25')).length).toBeGreaterThan(1);
    expect(await inventories('/v1/tickets?q=name!~=%25TICKET%25')).toEqual([]);
    expect(await inventories('/v1/tickets?q=name!=DEMO TICKET 7&q=name~=demo ticket 7')).toEqual([]);
    // Accents fold too; trailing spaces do not count for = (PAD SPACE) but do for LIKE.
    expect(await inventories('/v1/tickets?q=name=démo ticket 7')).toEqual(exact);
    expect(await inventories('/v1/tickets?q=name=demo ticket 7%20%20')).toEqual(exact);
    expect(await inventories('/v1/tickets?q=name~=demo ticket 7%20')).toEqual([]);
  });
});

describe('D17: the generic LogIn (APILogInMsg, PUT /v1/login)', () => {
  it('D17: PUT /v1/login {"logIn":{username,password,loginType:"account"}} logs in (LoginManagerImpl, AccountLoginBackend)', async () => {
    const r = await call(sim, 'PUT', '/v1/login', {
      body: { logIn: { username: 'admin', password: sha512('password'), loginType: 'account' } },
    });
    expect(r.status).toBe(200);
    expect(r.json.inventory).toMatchObject({ accountUuid: sim.controls.demo.admin.uuid });
    expect((await call(sim, 'GET', '/v1/ticket-types', { session: r.json.inventory.uuid })).status).toBe(200);
  });

  it.each([
    [{ username: 'admin', password: 'nope', loginType: 'account' }, 'ID.1000'],
    [{ username: 'admin', password: sha512('password'), loginType: 'ldap' }, 'SYS.1006'],
    [{ username: 'admin', password: sha512('password') }, 'SYS.1007'],
  ])('D17: %j → 503 %s', async (logIn, code) => {
    const r = await call(sim, 'PUT', '/v1/login', { body: { logIn } });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe(code);
  });
});
