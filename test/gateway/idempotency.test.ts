import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

const CHANGE = `mutation($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { ticket { uuid status lastOpDate currentFlowUuid } }
}`;
const JOB = `query($uuid: ID!) { apiJob(uuid: $uuid) { uuid state ticket { uuid status } error { code message zstack } } }`;

let h: Harness;
let admin: string;
let pending: string;

beforeAll(async () => {
  h = await startHarness({ env: { ZSTACK_JOB_TIMEOUT_MS: '300', ZSTACK_TIME_ZONE: 'UTC' } });
});
afterAll(() => h.close());
beforeEach(async () => {
  const c = h.simulator.controls;
  c.reset();
  c.setJobLatency(0);
  admin = await h.adminSession();
  pending = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
  c.clearRequests();
});

const puts = () => h.simulator.controls.requests.filter((r) => r.method === 'PUT');

/** The apiJob answer once the job is no longer RUNNING. */
async function endedJob(jobUuid: string) {
  let ended: Awaited<ReturnType<typeof h.gql<{ apiJob: { state: string } }>>> | undefined;
  await waitFor(async () => {
    const r = await h.gql<{ apiJob: { state: string } }>(JOB, { uuid: jobUuid }, { session: admin });
    if (r.data?.apiJob.state !== 'RUNNING') ended = r;
    return ended !== undefined;
  }, 'the job to end');
  return ended as NonNullable<typeof ended>;
}

describe('idempotencyKey', () => {
  it('a replay changes the ticket once and returns the same result', async () => {
    const input = { uuid: pending, statusEvent: 'APPROVE', comment: 'once', idempotencyKey: 'approve-1' };
    const first = await h.gql(CHANGE, { input }, { session: admin });
    const second = await h.gql(CHANGE, { input }, { session: admin });
    expect(first.errors).toBeUndefined();
    expect(second).toEqual(first);

    const sent = puts();
    expect(sent).toHaveLength(2);
    const jobUuid = sent[0]?.headers['x-job-uuid'];
    expect(jobUuid).toMatch(/^[0-9a-f]{32}$/);
    expect(sent[1]?.headers['x-job-uuid']).toBe(jobUuid);
    const history = h.simulator.controls.historyOf(pending).filter((row) => row.comment === 'once');
    expect(history).toHaveLength(1);
  });

  it('the same key with a different input is a different operation', async () => {
    const a = { uuid: pending, statusEvent: 'APPROVE', comment: 'first', idempotencyKey: 'k' };
    const b = { ...a, comment: 'second' };
    await h.gql(CHANGE, { input: a }, { session: admin });
    await h.gql(CHANGE, { input: b }, { session: admin });
    const [x, y] = puts().map((r) => r.headers['x-job-uuid']);
    expect(x).not.toBe(y);
  });

  it('without a key, no X-Job-UUID is sent', async () => {
    await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(puts()[0]?.headers['x-job-uuid']).toBeUndefined();
  });
});

describe('apiJob', () => {
  it('tells how a JOB_PENDING write ended', async () => {
    h.simulator.controls.setJobLatency(800);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe('JOB_PENDING');
    const jobUuid = res.errors?.[0]?.extensions?.jobUuid as string;

    const running = await h.gql(JOB, { uuid: jobUuid }, { session: admin });
    expect(running.data).toMatchObject({ apiJob: { uuid: jobUuid, state: 'RUNNING', ticket: null } });

    const done = await endedJob(jobUuid);
    expect(done.data).toMatchObject({
      apiJob: { state: 'SUCCEEDED', ticket: { uuid: pending, status: expect.stringMatching(/APPROVED$/) } },
    });
    expect(puts()).toHaveLength(1);
  });

  it('reports a failed job with its code and ErrorCode', async () => {
    h.simulator.controls.setJobLatency(500);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'OPEN' } }, { session: admin });
    const jobUuid = res.errors?.[0]?.extensions?.jobUuid as string;
    const done = await endedJob(jobUuid);
    expect(done.data).toMatchObject({
      apiJob: { state: 'FAILED', error: { code: 'UPSTREAM_ERROR', zstack: { code: 'SYS.1006' } } },
    });
  });

  it("another session sees a failed job's state but not its error details", async () => {
    h.simulator.controls.setJobLatency(500);
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'OPEN' } }, { session: admin });
    const jobUuid = res.errors?.[0]?.extensions?.jobUuid as string;
    expect(jobUuid).toMatch(/^[0-9a-f]{32}$/);
    const owner = await endedJob(jobUuid);
    expect(owner.data).toMatchObject({
      apiJob: { state: 'FAILED', error: { zstack: { code: 'SYS.1006' } } },
    });

    const { submitters } = h.simulator.controls.demo;
    const bob = submitters.find((s) => s.name === 'bob');
    const other = await h.logIn({
      kind: 'IAM2_VIRTUAL_ID',
      virtualIdName: bob?.name,
      password: bob?.password,
    });
    const seen = await h.gql(JOB, { uuid: jobUuid }, { session: other });
    expect(seen.errors).toBeUndefined();
    expect(seen.data).toEqual({ apiJob: { uuid: jobUuid, state: 'FAILED', ticket: null, error: null } });
  });

  it('an unknown job is EXPIRED; a bad uuid or no session is refused without an upstream call', async () => {
    const unknown = await h.gql(JOB, { uuid: 'e'.repeat(32) }, { session: admin });
    expect(unknown.data).toMatchObject({ apiJob: { state: 'EXPIRED' } });
    h.simulator.controls.clearRequests();
    const bad = await h.gql(JOB, { uuid: 'nope' }, { session: admin });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await h.gql(JOB, { uuid: 'e'.repeat(32) });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('a made-up session cannot read a job (ZStack checks none on job results)', async () => {
    const res = await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session: admin });
    expect(res.errors).toBeUndefined();
    const jobUuid = h.simulator.controls.requests
      .find((r) => r.path.includes('/v1/api-jobs/'))
      ?.path.split('/')
      .pop();
    const forged = await h.gql(JOB, { uuid: jobUuid }, { session: '0'.repeat(32) });
    expect(forged.data).toEqual({ apiJob: null });
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.simulator.controls.count({ path: '/v1/api-jobs/' })).toBe(1);
  });
});
