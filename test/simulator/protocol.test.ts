import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { asyncCall, awaitJob, call, loginAccount, loginVirtualId, sha512, start } from './support.js';

const JAVA_DATE = /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;

let sim: Simulator;
let admin: string;
beforeAll(async () => {
  sim = await start();
  admin = await loginAccount(sim);
});
afterAll(() => sim.close());
beforeEach(() => sim.controls.reset());

function pendingTicket(): string {
  const t = sim.controls.listTickets().find((x) => x.status === 'Pending');
  if (!t) throw new Error('no pending ticket');
  return t.uuid as string;
}

describe('sessions', () => {
  it('S1 logs in by account with the SHA-512 hex password; userUuid equals accountUuid', async () => {
    const r = await call(sim, 'PUT', '/v1/accounts/login', {
      body: { logInByAccount: { accountName: 'admin', password: sha512('password') } },
    });
    expect(r.status).toBe(200);
    const inv = r.json.inventory;
    expect(inv.uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(inv.accountUuid).toBe(sim.controls.demo.admin.uuid);
    expect(inv.userUuid).toBe(inv.accountUuid);
    expect(inv.noSessionEvaluation).toBe(false);
    expect(inv.createDate).toMatch(JAVA_DATE);
    expect(inv.expiredDate).toMatch(JAVA_DATE);
    expect(inv).not.toHaveProperty('userType');
  });

  it.each([
    [
      'wrong password',
      { accountName: 'admin', password: sha512('nope') },
      'ID.1000',
      'wrong account name or password',
    ],
    [
      'plaintext password',
      { accountName: 'admin', password: 'password' },
      'ID.1000',
      'wrong account name or password',
    ],
    [
      'uppercase hex',
      { accountName: 'admin', password: sha512('password').toUpperCase() },
      'ID.1000',
      undefined,
    ],
    ['unknown account', { accountName: 'ghost', password: sha512('password') }, 'ID.1000', undefined],
    [
      'missing accountName',
      { password: sha512('password') },
      'SYS.1007',
      'field[accountName] of message[org.zstack.header.identity.APILogInByAccountMsg] is mandatory, can not be null',
    ],
  ])('S1 refuses a %s with a sync 503', async (_name, params, code, details) => {
    const r = await call(sim, 'PUT', '/v1/accounts/login', { body: { logInByAccount: params } });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.description).toEqual(expect.any(String));
    if (details) expect(r.json.error.details).toBe(details);
  });

  it('S2 logs in by user (account name or uuid); the session names the user', async () => {
    const user = sim.controls.demo.user;
    if (!user) throw new Error('seed has a user');
    const byName = await call(sim, 'PUT', '/v1/accounts/users/login', {
      body: {
        logInByUser: {
          accountName: user.accountName,
          userName: user.userName,
          password: sha512(user.password),
        },
      },
    });
    expect(byName.status).toBe(200);
    expect(byName.json.inventory.userUuid).toBe(user.uuid);
    expect(byName.json.inventory.accountUuid).not.toBe(user.uuid);
    const byUuid = await call(sim, 'PUT', '/v1/accounts/users/login', {
      body: {
        logInByUser: {
          accountUuid: byName.json.inventory.accountUuid,
          userName: user.userName,
          password: sha512(user.password),
        },
      },
    });
    expect(byUuid.status).toBe(200);
    const wrong = await call(sim, 'PUT', '/v1/accounts/users/login', {
      body: {
        logInByUser: { accountName: user.accountName, userName: user.userName, password: sha512('x') },
      },
    });
    expect(wrong.status).toBe(503);
    expect(wrong.json.error).toMatchObject({
      code: 'ID.1000',
      details: 'wrong account or username or password',
    });
  });

  it('S3 logs in an IAM2 virtual ID: userUuid is the virtual ID', async () => {
    const alice = sim.controls.demo.submitters[0];
    const r = await call(sim, 'PUT', '/v1/iam2/virtual-ids/login', {
      body: { loginIAM2VirtualID: { name: alice?.name, password: sha512('password') } },
    });
    expect(r.status).toBe(200);
    expect(r.json.inventory.userUuid).toBe(alice?.uuid);
    const wrong = await call(sim, 'PUT', '/v1/iam2/virtual-ids/login', {
      body: { loginIAM2VirtualID: { name: alice?.name, password: sha512('x') } },
    });
    expect(wrong.status).toBe(503);
    expect(wrong.json.error.code).toBe('ID.1000');
  });

  it('S4 logs out (200 {} even for an unknown session) and S5 then says invalid', async () => {
    const s = await loginAccount(sim);
    expect((await call(sim, 'GET', `/v1/accounts/sessions/${s}/valid`)).json).toEqual({ valid: true });
    const out = await call(sim, 'DELETE', `/v1/accounts/sessions/${s}`);
    expect(out.status).toBe(200);
    expect(out.text).toBe('{}');
    expect((await call(sim, 'GET', `/v1/accounts/sessions/${s}/valid`)).json).toEqual({ valid: false });
    const unknown = await call(sim, 'DELETE', `/v1/accounts/sessions/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(200);
    expect(unknown.text).toBe('{}');
    const q = await call(sim, 'GET', '/v1/tickets?limit=1', { session: s });
    expect(q.status).toBe(503);
    expect(q.json.error.code).toBe('ID.1001');
  });

  it('S6 renews a session through a job; a duration out of range fails the job', async () => {
    const s = await loginAccount(sim);
    const ok = await asyncCall(sim, 'PUT', `/v1/accounts/sessions/${s}/renew`, {
      session: s,
      body: { renewSession: { duration: 600 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.inventory.uuid).toBe(s);
    expect(ok.json.inventory.expiredDate).toMatch(JAVA_DATE);
    const bad = await asyncCall(sim, 'PUT', `/v1/accounts/sessions/${s}/renew`, {
      session: s,
      body: { renewSession: { duration: 10 } },
    });
    expect(bad.status).toBe(503);
    expect(bad.json.error.code).toBe('SYS.1007');
  });

  it('ID.1001 is a sync 503 on queries and a failed job on writes', async () => {
    const bogus = 'f'.repeat(32);
    const sync = await call(sim, 'GET', '/v1/tickets', { session: bogus });
    expect(sync.status).toBe(503);
    expect(sync.json.error).toMatchObject({
      code: 'ID.1001',
      description: 'The session is invalid, either wrong session id or the session has been expired',
      details: 'Session expired',
    });
    const first = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: bogus,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(first.status).toBe(202);
    const job = await awaitJob(sim, first.json.location);
    expect(job.status).toBe(503);
    expect(job.json.error.code).toBe('ID.1001');
  });

  it('expireSession makes the next use fail with ID.1001', async () => {
    const s = await loginAccount(sim);
    expect((await call(sim, 'GET', '/v1/ticket-types', { session: s })).status).toBe(200);
    sim.controls.expireSession(s);
    const r = await call(sim, 'GET', '/v1/ticket-types', { session: s });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('ID.1001');
  });

  it.each([
    [undefined, "missing header 'Authorization'"],
    ['Bearer abc', "Authorization type must be 'OAuth'"],
    // RestServer.checkTime (L1026): an access key needs a Date header before anything else.
    ['ZStack key:sig', "'Date' must be incuded in request header"],
  ])('Authorization %s → 400 plain text', async (header, text) => {
    const r = await call(sim, 'GET', '/v1/tickets', { headers: header ? { Authorization: header } : {} });
    expect(r.status).toBe(400);
    expect(r.text).toBe(text);
  });
});

describe('sliding session expiry', () => {
  let short: Simulator;
  // The sessions' clock, moved by hand: expiry is decided on it, not on the wall clock.
  let now = 1_000_000;
  beforeAll(async () => {
    short = await start({ sessionTimeoutSec: 1, seed: false, sessionClock: () => now });
  });
  afterAll(() => short.close());

  it('every authenticated call slides the expiry; ValidateSession does not', async () => {
    const s = await loginAccount(short);
    // Four calls 400 ms apart outlive the 1 s timeout only if each one renews the session.
    for (let i = 0; i < 4; i++) {
      now += 400;
      expect((await call(short, 'GET', '/v1/ticket-types', { session: s })).status).toBe(200);
    }
    now += 999;
    expect((await call(short, 'GET', `/v1/accounts/sessions/${s}/valid`)).json).toEqual({ valid: true });
    // Validating did not renew: 1 ms later the last call's timeout has run out.
    now += 1;
    expect((await call(short, 'GET', `/v1/accounts/sessions/${s}/valid`)).json).toEqual({ valid: false });
    const r = await call(short, 'GET', '/v1/ticket-types', { session: s });
    expect(r.json.error.code).toBe('ID.1001');
  });
});

describe('async jobs', () => {
  it('202 carries location + apiTimeout; location host follows the Host header by default', async () => {
    const r = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(r.status).toBe(202);
    expect(Object.keys(r.json).sort()).toEqual(['apiTimeout', 'location']);
    expect(r.json.apiTimeout).toBe(300000);
    expect(r.json.location).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${sim.port}/zstack/v1/api-jobs/[0-9a-f]{32}$`),
    );
  });

  it('advertisedHost replaces the host in location; X-API-Timeout sets apiTimeout', async () => {
    const other = await start({ advertisedHost: 'mn.zstack.invalid:8080' });
    try {
      const s = await loginAccount(other);
      const t = other.controls.listTickets().find((x) => x.status === 'Pending')?.uuid;
      const r = await call(other, 'PUT', `/v1/tickets/${t}/actions`, {
        session: s,
        headers: { 'X-API-Timeout': '60' },
        body: { changeTicketStatus: { statusEvent: 'approve' } },
      });
      expect(r.json.location).toMatch(
        /^http:\/\/mn\.zstack\.invalid:8080\/zstack\/v1\/api-jobs\/[0-9a-f]{32}$/,
      );
      expect(r.json.apiTimeout).toBe(60000);
      const job = await awaitJob(other, r.json.location);
      expect(job.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('with latency 0 the very first poll is 200; no Authorization is needed to poll', async () => {
    const r = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    const poll = await call(sim, 'GET', new URL(r.json.location).pathname.replace('/zstack', ''));
    expect(poll.status).toBe(200);
    expect(poll.json.inventory.status).toBe('IntermediateApproved');
  });

  it('a running job answers 202 {} and applies its change only when it finishes', async () => {
    sim.controls.setJobLatency(300);
    const uuid = pendingTicket();
    const r = await call(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: 'reject' } },
    });
    const path = new URL(r.json.location).pathname.replace('/zstack', '');
    const running = await call(sim, 'GET', path);
    expect(running.status).toBe(202);
    expect(running.text).toBe('{}');
    expect(sim.controls.getTicket(uuid)?.status).toBe('Pending');
    const jobUuid = path.split('/').pop() as string;
    expect(sim.controls.jobOf(jobUuid)?.state).toBe('running');
    const done = await awaitJob(sim, r.json.location);
    expect(done.status).toBe(200);
    expect(sim.controls.getTicket(uuid)?.status).toBe('Rejected');
    expect(sim.controls.jobOf(jobUuid)).toMatchObject({
      state: 'succeeded',
      result: { inventory: { uuid } },
    });
  });

  it('unknown, expired and retention-expired jobs give 404 text; other methods 405 text', async () => {
    const unknown = await call(sim, 'GET', `/v1/api-jobs/${'a'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe('the job has been expired');

    const r = await call(sim, 'DELETE', `/v1/tickets/${pendingTicket()}`, { session: admin });
    const path = new URL(r.json.location).pathname.replace('/zstack', '');
    expect((await call(sim, 'GET', path)).text).toBe('{}');
    const post = await call(sim, 'POST', path);
    expect(post.status).toBe(405);
    expect(post.text).toBe('only GET method is allowed for querying job status');
    sim.controls.expireJob(path.split('/').pop() as string);
    const gone = await call(sim, 'GET', path);
    expect(gone.status).toBe(404);
    expect(gone.text).toBe('the job has been expired');

    const brief = await start({ jobRetentionMs: 100 });
    try {
      const s = await loginAccount(brief);
      const t = brief.controls.listTickets()[0]?.uuid;
      const del = await call(brief, 'DELETE', `/v1/tickets/${t}`, { session: s });
      const p = new URL(del.json.location).pathname.replace('/zstack', '');
      expect((await call(brief, 'GET', p)).status).toBe(200);
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        status = (await call(brief, 'GET', p)).status;
      }
      expect(status).toBe(404);
    } finally {
      await brief.close();
    }
  });

  it('X-JSON-Schema on the poll adds a schema map to the result', async () => {
    const r = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    const path = new URL(r.json.location).pathname.replace('/zstack', '');
    const withSchema = await call(sim, 'GET', path, { headers: { 'X-JSON-Schema': 'true' } });
    expect(withSchema.json.schema).toEqual({ inventory: 'org.zstack.ticket.entity.TicketInventory' });
    expect(withSchema.json.inventory.status).toBe('IntermediateApproved');
    expect((await call(sim, 'GET', path)).json).not.toHaveProperty('schema');
  });
});

describe('X-Job-UUID', () => {
  it('must be 32 characters', async () => {
    const r = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: admin,
      headers: { 'X-Job-UUID': 'abc' },
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(r.status).toBe(400);
    expect(r.text).toBe("Invalid header[X-Job-UUID], it must be a UUID with '-' stripped");
  });

  it('becomes the job uuid; a duplicate write is refused and the original job stays untouched', async () => {
    const id = '0123456789abcdef0123456789abcdef';
    const uuid = pendingTicket();
    const first = await call(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
      session: admin,
      headers: { 'X-Job-UUID': id },
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(first.json.location.endsWith(`/v1/api-jobs/${id}`)).toBe(true);
    const dup = await call(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
      session: admin,
      headers: { 'X-Job-UUID': id },
      body: { changeTicketStatus: { statusEvent: 'reject' } },
    });
    expect(dup.status).toBe(400);
    expect(dup.text).toBe(`Duplicate job uuid[${id}]`);
    const poll = await call(sim, 'GET', `/v1/api-jobs/${id}`);
    expect(poll.status).toBe(200);
    expect(poll.json.inventory.status).toBe('IntermediateApproved');
    expect(sim.controls.getTicket(uuid)?.status).toBe('IntermediateApproved');
    // GETs may reuse an id.
    const get = await call(sim, 'GET', '/v1/tickets?limit=1', {
      session: admin,
      headers: { 'X-Job-UUID': id },
    });
    expect(get.status).toBe(200);
  });
});

describe('webhooks', () => {
  interface Hit {
    headers: IncomingMessage['headers'];
    body: string;
  }
  async function hookServer(failFirst: number) {
    const hits: Hit[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        hits.push({ headers: req.headers, body });
        res.statusCode = hits.length <= failFirst ? 500 : 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
    return { hits, url, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('POSTs the job result with X-Job-UUID and X-Job-Success, retrying on non-2xx', async () => {
    const hook = await hookServer(2);
    const fast = await start({ webhookRetryIntervalMs: 20 });
    try {
      const s = await loginAccount(fast);
      const t = fast.controls.listTickets().find((x) => x.status === 'Pending')?.uuid;
      const r = await call(fast, 'PUT', `/v1/tickets/${t}/actions`, {
        session: s,
        headers: { 'X-Web-Hook': hook.url },
        body: { changeTicketStatus: { statusEvent: 'approve' } },
      });
      expect(r.status).toBe(202);
      await waitFor(() => hook.hits.length >= 3, 'three webhook deliveries');
      expect(hook.hits).toHaveLength(3);
      const jobUuid = r.json.location.split('/').pop();
      const last = hook.hits[2] as Hit;
      expect(last.headers['x-job-uuid']).toBe(jobUuid);
      expect(last.headers['x-job-success']).toBe('true');
      expect(last.headers['content-type']).toBe('application/json; charset=utf-8');
      const poll = await awaitJob(fast, r.json.location);
      expect(last.body).toBe(poll.text);

      // A failed job is delivered too, with X-Job-Success: false.
      const bad = await call(fast, 'PUT', `/v1/tickets/${'b'.repeat(32)}/actions`, {
        session: s,
        headers: { 'X-Web-Hook': hook.url },
        body: { changeTicketStatus: { statusEvent: 'approve' } },
      });
      expect(bad.status).toBe(202);
      await waitFor(() => hook.hits.length >= 4, "the failed job's delivery");
      expect(hook.hits[3]?.headers['x-job-success']).toBe('false');
      expect(JSON.parse(hook.hits[3]?.body ?? '{}').error.code).toBe('SYS.1003');
    } finally {
      await fast.close();
      await hook.close();
    }
  });

  it('X-JSON-Schema on the original request puts the schema map in the callback, as on a poll', async () => {
    const hook = await hookServer(0);
    try {
      const approve = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
        session: admin,
        headers: { 'X-Web-Hook': hook.url, 'X-JSON-Schema': 'true' },
        body: { changeTicketStatus: { statusEvent: 'approve' } },
      });
      const del = await call(sim, 'DELETE', `/v1/tickets/${pendingTicket()}`, {
        session: admin,
        headers: { 'X-Web-Hook': hook.url, 'X-JSON-Schema': 'true' },
      });
      await waitFor(() => hook.hits.length >= 2, 'both webhook deliveries');
      const byJob = new Map(hook.hits.map((h) => [h.headers['x-job-uuid'], h.body]));
      const approveJob = approve.json.location.split('/').pop();
      const approveHook = JSON.parse(byJob.get(approveJob) ?? '{}');
      expect(approveHook.schema).toEqual({ inventory: 'org.zstack.ticket.entity.TicketInventory' });
      expect(approveHook.inventory.status).toBe('IntermediateApproved');
      const poll = await call(sim, 'GET', new URL(approve.json.location).pathname.replace('/zstack', ''), {
        headers: { 'X-JSON-Schema': 'true' },
      });
      expect(byJob.get(approveJob)).toBe(poll.text);
      // A body-less result ({} for a delete) still gets its (empty) schema.
      expect(byJob.get(del.json.location.split('/').pop())).toBe('{"schema":{}}');
    } finally {
      await hook.close();
    }
  });
});

describe('REST layer quirks', () => {
  it('sends no Content-Type by default, on JSON and on text bodies', async () => {
    for (const r of [
      await call(sim, 'GET', '/v1/tickets?limit=1', { session: admin }),
      await call(sim, 'GET', '/v1/tickets'),
      await call(sim, 'GET', '/v1/nothing'),
    ]) {
      expect(r.headers.get('content-type')).toBeNull();
    }
  });

  it('contentType: true adds one', async () => {
    const typed = await start({ contentType: true, seed: false });
    try {
      const r = await call(typed, 'GET', '/v1/nothing');
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      const s = await loginAccount(typed);
      expect((await call(typed, 'GET', '/v1/tickets', { session: s })).headers.get('content-type')).toBe(
        'application/json;charset=utf-8',
      );
    } finally {
      await typed.close();
    }
  });

  it.each([
    ['GET', '/v1/nothing', 404, 'no api mapping to /v1/nothing'],
    ['GET', '/v1/tickets/a/b/c', 404, 'no api mapping to /v1/tickets/a/b/c'],
    // RestServer.handleNonUniqueApi (L768-803): a method with no API on a shared path is a 500 naming
    // the request URI, context path included.
    [
      'GET',
      '/v1/tickets/abc/actions',
      500,
      'No query API found for the path[/zstack/v1/tickets/abc/actions]',
    ],
    ['POST', '/v1/tickets/abc', 500, 'No creational API found for the path[/zstack/v1/tickets/abc]'],
    ['DELETE', '/v1/tickets', 500, 'No delete API found for the path[/zstack/v1/tickets]'],
    // A PUT on a shared path always looks for an action key, even where no API is an action.
    ['PUT', '/v1/tickets', 400, "the body doesn't contain action mapping to the URL[/v1/tickets]"],
  ])('%s %s → %i plain text', async (method, path, status, text) => {
    const r = await call(sim, method, path, { session: admin });
    expect(r.status).toBe(status);
    expect(r.text).toBe(text);
  });

  it('paths outside the /zstack context get the servlet container’s 404 page, and do nothing', async () => {
    const origin = sim.url.replace(/\/zstack$/, '');
    expect(`${origin}/zstack`).toBe(sim.url);
    const uuid = pendingTicket();
    sim.controls.clearRequests();
    // A ZSTACK_URL without the context path, a look-alike context, the bare context and the root.
    for (const path of [
      '/v1/accounts/login',
      `/v1/tickets/${uuid}/actions`,
      '/v1/api-jobs/0123456789abcdef0123456789abcdef',
      '/zstackx/v1/tickets',
      '/zstack',
      '/',
    ]) {
      const r = await call(sim, 'PUT', `${origin}${path}`, {
        session: admin,
        body: { changeTicketStatus: { statusEvent: 'approve' } },
      });
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type'), path).toBe('text/html;charset=utf-8');
      expect(r.text, path).toContain('<h1>HTTP Status 404 – Not Found</h1>');
      expect(r.text, path).not.toContain('no api mapping');
    }
    expect(sim.controls.getTicket(uuid)?.status).toBe('Pending');
    expect(sim.controls.count({ method: 'PUT' })).toBe(6);
    // Inside the context, ZStack itself answers (plain text, no Content-Type).
    const inside = await call(sim, 'GET', '/v1/nothing');
    expect(inside.status).toBe(404);
    expect(inside.text).toBe('no api mapping to /v1/nothing');
    expect(inside.headers.get('content-type')).toBeNull();
  });

  it('PUT on a shared action path with neither action key → 400 text', async () => {
    const r = await call(sim, 'PUT', '/v1/tickets/abc/actions', {
      session: admin,
      body: { changeticketstatus: { statusEvent: 'approve' } },
    });
    expect(r.status).toBe(400);
    expect(r.text).toBe("the body doesn't contain action mapping to the URL[/v1/tickets/abc/actions]");
  });

  it('a malformed JSON body is a plain-text 500', async () => {
    const r = await call(sim, 'POST', '/v1/tickets', { session: admin, body: '{"params": {' });
    expect(r.status).toBe(500);
    expect(r.json).toBeUndefined();
    expect(r.text.length).toBeGreaterThan(0);
  });

  it('failed-job bodies are HTML-escaped the Gson way; sync 503s are not', async () => {
    const first = await call(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: admin,
      body: { changeTicketStatus: { statusEvent: "a=b<c>&'" } },
    });
    const job = await awaitJob(sim, first.json.location);
    expect(job.status).toBe(503);
    expect(job.text).toContain('a\\u003db\\u003cc\\u003e\\u0026\\u0027');
    expect(job.json.error.details).toContain("a=b<c>&' found");
    const sync = await call(sim, 'GET', '/v1/tickets/histories?q=sequence=a<b', { session: admin });
    expect(sync.status).toBe(503);
    expect(sync.text).toContain('a<b');
  });

  it('failed jobs carry description and details, and omit nulls', async () => {
    const first = await call(sim, 'DELETE', `/v1/tickets/${'c'.repeat(32)}?deleteMode=Permissive`, {
      session: admin,
    });
    const job = await awaitJob(sim, first.json.location);
    expect(job.json).toEqual({
      error: {
        code: 'SYS.1003',
        description: 'A resource can not be found',
        details: `invalid field[uuid], resource[uuid:${'c'.repeat(32)}, type:TicketVO] not found`,
        cost: '0ms',
      },
    });
  });

  it('M1 answers the platform time zone; dates follow it', async () => {
    const sh = await start({ timeZone: 'Asia/Shanghai' });
    try {
      const s = await loginAccount(sh);
      const tz = await call(sh, 'GET', '/v1/management-nodes/platform-timezone', { session: s });
      expect(tz.json).toEqual({ success: true, timezone: 'Asia/Shanghai', offset: '+08:00' });
      const first = await call(sh, 'GET', '/v1/tickets?q=name=demo ticket 1', { session: s });
      expect(first.json.inventories[0].createDate).toBe('Jun 7, 2024 9:57:28 PM');
      const utc = await call(sim, 'GET', '/v1/tickets?q=name=demo ticket 1', { session: admin });
      expect(utc.json.inventories[0].createDate).toBe('Jun 7, 2024 1:57:28 PM');
      expect((await call(sh, 'GET', '/v1/management-nodes/platform-timezone')).status).toBe(400);
    } finally {
      await sh.close();
    }
  });

  it('free-form JSON comes back Gson-style (1.0, 2.147483648E9)', async () => {
    const r = await call(sim, 'GET', '/v1/tickets?limit=1', { session: admin });
    expect(r.text).toContain('"executeTimes":1.0');
    expect(r.text).toContain('"memorySize":2.147483648E9');
  });

  it('the demo is the same on every start (deterministic uuids)', async () => {
    const again = await start();
    try {
      expect(again.controls.demo).toEqual(sim.controls.demo);
      expect(again.controls.listTickets()).toEqual(sim.controls.listTickets());
    } finally {
      await again.close();
    }
  });

  it('a virtual-ID session acts as that virtual ID', async () => {
    const carol = sim.controls.demo.approvers[0];
    const s = await loginVirtualId(sim, carol?.name ?? '');
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${pendingTicket()}/actions`, {
      session: s,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(job.status).toBe(200);
    const hist = sim.controls.historyOf(job.json.inventory.uuid).at(-1);
    expect(hist).toMatchObject({ operatorType: 'IAM2VirtualID', operatorUuid: carol?.uuid });
  });
});
