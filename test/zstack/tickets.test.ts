import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZStackClient } from '../../src/zstack/client.js';
import { createZStackClient } from '../../src/zstack/client.js';
import { ZStackHttpError } from '../../src/zstack/errors.js';
import { QueryValueError } from '../../src/zstack/query.js';
import {
  getPlatformTimeZone,
  hashPassword,
  logInByAccount,
  logInByUser,
  logInIAM2VirtualId,
  logOut,
  validateSession,
} from '../../src/zstack/sessions.js';
import {
  changeTicketStatus,
  createTicket,
  deleteTicket,
  queryTicketFlowCollections,
  queryTicketHistories,
  queryTickets,
  queryTicketTypes,
  updateTicketRequest,
} from '../../src/zstack/tickets.js';
import type { FakeZStack, SeenRequest } from './fake-zstack.js';
import { JOB_PREFIX, send, startFake } from './fake-zstack.js';

const TICKET = 'a'.repeat(32);
const SESSION = 'c'.repeat(32);
const JOB = 'd'.repeat(32);

let f: FakeZStack | undefined;
let c: ZStackClient;
/** The reply the fake gives to the next non-job request (writes get 202 + a finished job). */
let reply: unknown;

async function setup(): Promise<void> {
  f = await startFake((req, res) => {
    if (req.url.startsWith(JOB_PREFIX)) return send(res, 200, reply);
    if (req.method === 'GET' || req.url.includes('/accounts/')) return send(res, 200, reply);
    if (req.url.includes('/iam2/')) return send(res, 200, reply);
    send(res, 202, { location: `http://10.0.0.5:8080/zstack/v1/api-jobs/${JOB}`, apiTimeout: 300000 });
  });
  c = createZStackClient({ baseUrl: f.baseUrl, timeoutMs: 2000, jobTimeoutMs: 2000 });
}

afterEach(async () => {
  if (f === undefined) return;
  await c.close();
  await f.close();
  f = undefined;
});

function only(method: string): SeenRequest {
  const found = (f as FakeZStack).requests.filter((r) => r.method === method);
  expect(found).toHaveLength(1);
  return found[0] as SeenRequest;
}

describe('ticket APIs', () => {
  it('changeTicketStatus: PUT /tickets/{uuid}/actions with the action key, tags at the top level', async () => {
    await setup();
    reply = { inventory: { uuid: TICKET, status: 'IntermediateApproved' } };
    const ticket = await changeTicketStatus(
      c,
      { uuid: TICKET, statusEvent: 'approve', comment: 'fine', systemTags: ['s'], userTags: [] },
      { session: SESSION, jobUuid: JOB },
    );
    expect(ticket).toEqual({ uuid: TICKET, status: 'IntermediateApproved' });
    const put = only('PUT');
    expect(put.url).toBe(`/zstack/v1/tickets/${TICKET}/actions`);
    expect(JSON.parse(put.body)).toEqual({
      changeTicketStatus: { statusEvent: 'approve', comment: 'fine' },
      systemTags: ['s'],
      userTags: [],
    });
    expect(put.headers.authorization).toBe(`OAuth ${SESSION}`);
    expect(put.headers['x-job-uuid']).toBe(JOB);
  });

  it('changeTicketStatus omits absent keys', async () => {
    await setup();
    reply = { inventory: { uuid: TICKET } };
    await changeTicketStatus(c, { uuid: TICKET, statusEvent: 'cancel' }, {});
    expect(JSON.parse(only('PUT').body)).toEqual({ changeTicketStatus: { statusEvent: 'cancel' } });
  });

  it('encodes the uuid in the path', async () => {
    await setup();
    reply = { inventory: { uuid: TICKET } };
    await changeTicketStatus(c, { uuid: '../x?y', statusEvent: 'approve' }, {});
    expect(only('PUT').url).toBe('/zstack/v1/tickets/..%2Fx%3Fy/actions');
  });

  it('a job result without an inventory is an error', async () => {
    await setup();
    reply = {};
    await expect(changeTicketStatus(c, { uuid: TICKET, statusEvent: 'approve' }, {})).rejects.toBeInstanceOf(
      ZStackHttpError,
    );
  });

  it('createTicket: POST /tickets {"params":{...}}', async () => {
    await setup();
    reply = { schema: {}, inventory: { uuid: TICKET, status: 'Pending' } };
    const requests = [
      { requestName: 'vm', apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg', executeTimes: 1 },
    ];
    const ticket = await createTicket(
      c,
      {
        name: 'n',
        requests,
        accountSystemType: 'iam2',
        accountSystemContext: { projectUuid: 'p', virtualIDUuid: 'v' },
        userTags: ['u'],
      },
      { session: SESSION },
    );
    expect(ticket).toEqual({ uuid: TICKET, status: 'Pending' });
    const post = only('POST');
    expect(post.url).toBe('/zstack/v1/tickets');
    expect(JSON.parse(post.body)).toEqual({
      params: {
        name: 'n',
        requests,
        accountSystemType: 'iam2',
        accountSystemContext: { projectUuid: 'p', virtualIDUuid: 'v' },
      },
      userTags: ['u'],
    });
  });

  it('updateTicketRequest: PUT actions with updateTicketRequest', async () => {
    await setup();
    reply = { inventory: { uuid: TICKET } };
    await updateTicketRequest(c, { uuid: TICKET, requests: [{ requestName: 'r' }], description: 'd' }, {});
    const put = only('PUT');
    expect(put.url).toBe(`/zstack/v1/tickets/${TICKET}/actions`);
    expect(JSON.parse(put.body)).toEqual({
      updateTicketRequest: { requests: [{ requestName: 'r' }], description: 'd' },
    });
  });

  it('deleteTicket: DELETE /tickets/{uuid}?deleteMode=Permissive, no body', async () => {
    await setup();
    reply = {};
    await expect(deleteTicket(c, { uuid: TICKET }, { session: SESSION })).resolves.toBeUndefined();
    const del = only('DELETE');
    expect(del.url).toBe(`/zstack/v1/tickets/${TICKET}?deleteMode=Permissive`);
    expect(del.body).toBe('');
    expect(del.headers['content-type']).toBeUndefined();
  });

  it.each([
    ['queryTickets', queryTickets, '/zstack/v1/tickets'],
    ['queryTicketHistories', queryTicketHistories, '/zstack/v1/tickets/histories'],
    ['queryTicketTypes', queryTicketTypes, '/zstack/v1/ticket-types'],
    ['queryTicketFlowCollections', queryTicketFlowCollections, '/zstack/v1/tickets/flow-collections'],
  ] as const)('%s: GET %s with the built query', async (_name, fn, path) => {
    await setup();
    reply = { inventories: [{ uuid: TICKET }], total: 1, schema: {} };
    const out = await fn(
      c,
      { conditions: [{ field: 'uuid', op: '?=', value: [TICKET] }], limit: 10, replyWithCount: true },
      { session: SESSION },
    );
    expect(out).toEqual(reply);
    expect(only('GET').url).toBe(`${path}?q=uuid%3F%3D${TICKET}&limit=10&replyWithCount=true`);
  });

  it('a hostile query value is refused before any call', async () => {
    await setup();
    await expect(
      queryTickets(c, { conditions: [{ field: 'name', op: '=', value: 'a!=b' }] }, {}),
    ).rejects.toBeInstanceOf(QueryValueError);
    expect(f?.requests).toHaveLength(0);
  });
});

describe('session APIs', () => {
  it('hashPassword is lowercase hex SHA-512', () => {
    expect(hashPassword('password')).toBe(
      'b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86',
    );
    expect(hashPassword('pässword')).toBe(createHash('sha512').update('pässword').digest('hex'));
  });

  it.each([
    [
      'account',
      () => logInByAccount(c, { accountName: 'admin', password: 'password' }),
      '/zstack/v1/accounts/login',
      { logInByAccount: { accountName: 'admin', password: hashPassword('password') } },
    ],
    [
      'user',
      () => logInByUser(c, { accountName: 'admin', userName: 'u', password: 'pw' }),
      '/zstack/v1/accounts/users/login',
      { logInByUser: { accountName: 'admin', userName: 'u', password: hashPassword('pw') } },
    ],
    [
      'virtual id',
      () => logInIAM2VirtualId(c, { name: 'alice', password: 'pw' }),
      '/zstack/v1/iam2/virtual-ids/login',
      { loginIAM2VirtualID: { name: 'alice', password: hashPassword('pw') } },
    ],
  ])('log in by %s: PUT with the hashed password, no Authorization', async (_kind, run, url, body) => {
    await setup();
    reply = { inventory: { uuid: SESSION, accountUuid: 'x', userUuid: 'x' } };
    expect(await run()).toEqual({ uuid: SESSION, accountUuid: 'x', userUuid: 'x' });
    const put = only('PUT');
    expect(put.url).toBe(url);
    expect(JSON.parse(put.body)).toEqual(body);
    expect(put.headers.authorization).toBeUndefined();
    expect(put.body).not.toContain('"password":"pw"');
  });

  it('logOut: DELETE /accounts/sessions/{uuid}', async () => {
    await setup();
    reply = {};
    await logOut(c, SESSION);
    expect(only('DELETE').url).toBe(`/zstack/v1/accounts/sessions/${SESSION}`);
  });

  it.each([
    [{ valid: true }, true],
    [{ valid: false }, false],
    [{}, false],
  ])('validateSession %j → %s', async (body, expected) => {
    await setup();
    reply = body;
    expect(await validateSession(c, SESSION)).toBe(expected);
    expect(only('GET').url).toBe(`/zstack/v1/accounts/sessions/${SESSION}/valid`);
  });

  it('getPlatformTimeZone returns timezone and offset only', async () => {
    await setup();
    reply = { success: true, timezone: 'Asia/Shanghai', offset: '+08:00' };
    expect(await getPlatformTimeZone(c, { session: SESSION })).toEqual({
      timezone: 'Asia/Shanghai',
      offset: '+08:00',
    });
    const get = only('GET');
    expect(get.url).toBe('/zstack/v1/management-nodes/platform-timezone');
    expect(get.headers.authorization).toBe(`OAuth ${SESSION}`);
  });
});
