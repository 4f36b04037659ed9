import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

const CHANGE = `mutation($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { ticket { uuid status } }
}`;

let h: Harness;
let admin: string;
let pending: string;

beforeAll(async () => {
  h = await startHarness({
    simulator: { advertisedHost: 'mn.zstack.invalid:8080' },
    env: { ZSTACK_TIMEOUT_MS: '400', ZSTACK_JOB_TIMEOUT_MS: '600', ZSTACK_TIME_ZONE: 'UTC' },
  });
});
afterAll(() => h.close());
beforeEach(async () => {
  const c = h.simulator.controls;
  c.reset();
  c.setJobLatency(0);
  admin = await h.logIn({
    kind: 'ACCOUNT',
    accountName: c.demo.admin.accountName,
    password: c.demo.admin.password,
  });
  pending = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
  c.clearRequests();
});

const puts = () => h.simulator.controls.count({ method: 'PUT', path: '/v1/tickets/' });

function expectNoLeak(res: { errors?: { message: string; extensions?: Record<string, unknown> }[] }) {
  const text = JSON.stringify(res.errors);
  expect(text).not.toContain(admin);
  expect(text).not.toContain(h.simulator.url);
  expect(text).not.toContain('127.0.0.1');
  expect(text).not.toContain('mn.zstack.invalid');
  expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe('ZStack ErrorCodes become codes, with the whole ErrorCode in extensions.zstack', () => {
  it.each([
    ['ID.1001', 'UNAUTHENTICATED'],
    ['ID.1000', 'UNAUTHENTICATED'],
    ['ID.1002', 'FORBIDDEN'],
    ['ID.1003', 'FORBIDDEN'],
    ['SYS.1003', 'NOT_FOUND'],
    ['SYS.1007', 'BAD_USER_INPUT'],
    ['SYS.1001', 'UPSTREAM_TIMEOUT'],
    ['SYS.1006', 'UPSTREAM_ERROR'],
    ['HOST.1000', 'UPSTREAM_ERROR'],
  ])('failed job %s → %s', async (zcode, code) => {
    h.simulator.controls.injectFault({
      fault: {
        kind: 'errorCode',
        code: zcode,
        description: 'desc of it',
        details: 'the details',
        async: true,
      },
      method: 'PUT',
    });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code,
      zstack: { code: zcode, description: 'desc of it', details: 'the details' },
      jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(res.errors?.[0]?.message).toContain('the details');
    expect(puts()).toBe(1);
    expectNoLeak(res);
  });

  it('the real thing: an approver who is not the current one gets FORBIDDEN (ID.1002)', async () => {
    const c = h.simulator.controls;
    const second = c.demo.approvers[1];
    if (!second) throw new Error('demo data needs two approvers');
    const session = await h.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: second.name,
      password: second.password,
    });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', zstack: { code: 'ID.1002' } });
  });

  it('an unknown ticket gets NOT_FOUND (SYS.1003)', async () => {
    const res = await h.gql(
      CHANGE,
      { input: { uuid: 'f'.repeat(32), statusEvent: 'APPROVE' } },
      { session: admin },
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', zstack: { code: 'SYS.1003' } });
  });

  it('an expired session gets UNAUTHENTICATED (ID.1001 as a failed job)', async () => {
    h.simulator.controls.expireSession(admin);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      zstack: { code: 'ID.1001' },
    });
  });
});

describe('upstream query errors, as real ZStack sends them (issue 25, D8)', () => {
  const LIST = `query($where: TicketWhere) { tickets(first: 5, where: $where) { nodes { uuid name } } }`;
  const gets = () => h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' });

  it('a ZQL refusal is SYS.1000 at ZStack (QueryFacadeImpl wraps a CloudRuntimeException) → UPSTREAM_ERROR, not BAD_USER_INPUT', async () => {
    // What ZStack answers for a field it does not know, e.g. one an older ZStack lacks
    // (ZQLMetadata.FieldChainQuery.verify, wrapped by QueryFacadeImpl.handle).
    h.simulator.controls.injectFault({
      fault: {
        kind: 'errorCode',
        code: 'SYS.1000',
        description: 'An internal error happened in system',
        details:
          'org.zstack.header.exception.CloudRuntimeException: inventory class[class org.zstack.ticket.entity.TicketInventory] not having field[name]',
      },
      method: 'GET',
      path: '/v1/tickets',
    });
    const res = await h.gql(LIST, {}, { session: admin });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      zstack: { code: 'SYS.1000' },
    });
    expect(gets()).toBe(1);
    expectNoLeak(res);
  });

  it('input ZQL would refuse is refused by the gateway itself, before any call (BAD_USER_INPUT)', async () => {
    for (const where of [{ nameContains: '50%' }, { name: 'a!=b' }, { uuidIn: ['not-a-uuid'] }]) {
      const res = await h.gql(LIST, { where }, { session: admin });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(where)).toBe('BAD_USER_INPUT');
    }
    expect(gets()).toBe(0);
  });
});

describe('transport faults', () => {
  it('plain-text 500 → UPSTREAM_ERROR naming the status, not the body', async () => {
    h.simulator.controls.injectFault({
      fault: { kind: 'http500', text: 'java.lang.NullPointerException at Foo' },
      method: 'PUT',
    });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    expect(res.errors?.[0]?.message).toContain('500');
    expect(JSON.stringify(res.errors)).not.toContain('NullPointer');
    expect(puts()).toBe(1);
    expectNoLeak(res);
  });

  it('malformed JSON → UPSTREAM_ERROR', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'malformed' }, method: 'PUT' });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    expect(puts()).toBe(1);
  });

  it('a reset connection → UPSTREAM_UNAVAILABLE, saying the write may have been applied', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'reset', after: true }, method: 'PUT' });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      mayHaveBeenApplied: true,
    });
    expect(res.errors?.[0]?.message).toMatch(/may have/);
    expect(puts()).toBe(1);
    expectNoLeak(res);
  });

  it('a call outliving ZSTACK_TIMEOUT_MS → UPSTREAM_UNAVAILABLE', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'latency', ms: 1500 }, method: 'PUT' });
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(puts()).toBe(1);
  });
});

describe('a cause chain (a final approval whose request fails)', () => {
  it('is coded by the outer ErrorCode and reaches extensions.zstack whole, cause included', async () => {
    const c = h.simulator.controls;
    const uuid = c.demo.failingTicketUuid;
    const before = c.getTicket(uuid);
    const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.data?.changeTicketStatus ?? null).toBeNull();
    const error = res.errors?.[0];
    // The code comes from the outer ErrorCode (SYS.1006), not from its cause.
    expect(error?.extensions).toEqual({
      code: 'UPSTREAM_ERROR',
      jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/),
      zstack: {
        code: 'SYS.1006',
        description: 'An operation failed',
        details: `failed to execute the request[name:request 22, api:org.zstack.header.vm.APICreateVmInstanceMsg] of ticket[uuid:${uuid}]`,
        cost: '0ms',
        cause: {
          code: 'HOST_ALLOCATION.1000',
          description: 'No available host found',
          details: expect.stringMatching(/^no host found with 128 free CPUs/),
          cost: '0ms',
        },
      },
    });
    expect(error?.message).toBe(
      `An operation failed: failed to execute the request[name:request 22, api:org.zstack.header.vm.APICreateVmInstanceMsg] of ticket[uuid:${uuid}]`,
    );
    // What the simulator saw and answered: one PUT, one failed job carrying that very chain.
    expect(puts()).toBe(1);
    const job = c.jobOf(error?.extensions?.jobUuid as string);
    expect(job).toEqual({ state: 'failed', result: { error: error?.extensions?.zstack } });
    expect(c.getTicket(uuid)).toEqual(before);
    expectNoLeak(res);
  });
});

describe('async jobs', () => {
  it('polls across several 202s with an unreachable advertised host', async () => {
    h.simulator.controls.setJobLatency(150);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors).toBeUndefined();
    const polls = h.simulator.controls.requests.filter((r) => r.path.includes('/v1/api-jobs/'));
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(puts()).toBe(1);
  });

  it('JOB_PENDING with the job uuid when the job outlives the job timeout, after exactly one PUT', async () => {
    h.simulator.controls.setJobLatency(5000);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    const error = res.errors?.[0];
    expect(error?.extensions?.code).toBe('JOB_PENDING');
    const put = h.simulator.controls.requests.find((r) => r.method === 'PUT');
    const jobUuid = error?.extensions?.jobUuid as string;
    expect(jobUuid).toMatch(/^[0-9a-f]{32}$/);
    expect(h.simulator.controls.jobOf(jobUuid)?.state).toBe('running');
    expect(put).toBeDefined();
    expect(puts()).toBe(1);
  });

  it('an expired job result → UPSTREAM_ERROR with the job uuid and a may-have-applied message', async () => {
    const c = h.simulator.controls;
    c.setJobLatency(300);
    const done = h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    const firstPoll = () => c.requests.find((r) => r.path.includes('/v1/api-jobs/'));
    await waitFor(() => firstPoll() !== undefined, 'the first poll');
    const jobUuid = firstPoll()?.path.split('/').pop() as string;
    c.expireJob(jobUuid);
    const res = await done;
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', jobUuid });
    expect(res.errors?.[0]?.message).toMatch(/may have been applied/);
    expect(puts()).toBe(1);
  });
});

describe('sessions end to end', () => {
  it('logIn → changeTicketStatus → logOut → UNAUTHENTICATED', async () => {
    const approver = h.simulator.controls.demo.approvers[0];
    if (!approver) throw new Error('demo data needs an approver');
    const session = await h.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: approver.name,
      password: approver.password,
    });
    const ok = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session });
    expect(ok.errors).toBeUndefined();

    const out = await h.gql('mutation { logOut { loggedOut } }', {}, { session });
    expect(out.data).toEqual({ logOut: { loggedOut: true } });
    const del = h.simulator.controls.requests.find((r) => r.method === 'DELETE');
    expect(del?.path).toBe(`/zstack/v1/accounts/sessions/${session}`);

    const after = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session });
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const me = await h.gql('{ session { uuid } }', {}, { session });
    expect(me.data).toEqual({ session: null });
  });

  it('session returns the valid caller session', async () => {
    const me = await h.gql('{ session { uuid accountUuid } }', {}, { session: admin });
    expect(me.data).toEqual({ session: { uuid: admin, accountUuid: null } });
    const anonymous = await h.gql('{ session { uuid } }');
    expect(anonymous.data).toEqual({ session: null });
  });

  it.each([
    ['ACCOUNT', { kind: 'ACCOUNT', accountName: 'admin', password: 'wrong' }, 'UNAUTHENTICATED'],
    ['ACCOUNT without accountName', { kind: 'ACCOUNT', password: 'x' }, 'BAD_USER_INPUT'],
    ['USER without userName', { kind: 'USER', accountName: 'admin', password: 'x' }, 'BAD_USER_INPUT'],
    ['IAM2 without virtualIdName', { kind: 'IAM2_VIRTUAL_ID', password: 'x' }, 'BAD_USER_INPUT'],
  ])('logIn %s → %s', async (_name, input, code) => {
    const res = await h.gql('mutation($input: LogInInput!) { logIn(input: $input) { session { uuid } } }', {
      input,
    });
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
  });

  it('logIn sends the SHA-512 hex of the password, never the password', async () => {
    const { admin: a } = h.simulator.controls.demo;
    await h.logIn({ accountName: a.accountName, password: a.password });
    const login = h.simulator.controls.requests.find((r) => r.path.endsWith('/v1/accounts/login'));
    const body = JSON.parse(login?.body ?? '{}');
    expect(body.logInByAccount.accountName).toBe(a.accountName);
    expect(body.logInByAccount.password).toMatch(/^[0-9a-f]{128}$/);
    expect(body.logInByAccount.password).not.toBe(a.password);
  });
});
