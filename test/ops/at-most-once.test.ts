import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/simulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { CHANGE, type OpsHarness, startOps } from './support.js';

let h: OpsHarness;
let session: string;
let first: string;
let second: string;

beforeAll(async () => {
  h = await startOps({
    env: { ZSTACK_TIMEOUT_MS: '400', ZSTACK_JOB_TIMEOUT_MS: '3000' },
    simulator: { advertisedHost: 'mn.zstack.invalid:8080' },
  });
});
afterAll(() => h.close());
beforeEach(async () => {
  const c = h.simulator.controls;
  c.reset();
  c.setJobLatency(0);
  session = await h.adminSession();
  const pending = c.listTickets().filter((t) => t.status === 'Pending');
  first = pending[0]?.uuid as string;
  second = pending[1]?.uuid as string;
  c.clearRequests();
});

const puts = () => h.simulator.controls.count({ method: 'PUT', path: '/v1/tickets/' });

async function approve(uuid: string) {
  return h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
}

/** After any fault the gateway still serves the next write, which reaches ZStack exactly once. */
async function expectStillServing() {
  const before = puts();
  const next = await approve(second);
  expect(next.body.errors).toBeUndefined();
  expect(next.body.data).toMatchObject({ changeTicketStatus: { ticket: { uuid: second } } });
  expect(puts()).toBe(before + 1);
}

describe('each fault: the write reaches ZStack at most once, with a specific code', () => {
  // Every fault after the PUT went out leaves its outcome unknown: the answer must say so
  // (mayHaveBeenApplied), or a client that retries acts twice. `applied`: whether the simulator
  // really applied this one, which the flag must never deny.
  const cases: [string, FaultRule, Record<string, unknown>, boolean][] = [
    [
      'connection reset before the request is applied',
      { fault: { kind: 'reset' }, method: 'PUT' },
      { code: 'UPSTREAM_UNAVAILABLE', mayHaveBeenApplied: true },
      false,
    ],
    [
      'connection reset after the request is applied',
      { fault: { kind: 'reset', after: true }, method: 'PUT' },
      { code: 'UPSTREAM_UNAVAILABLE', mayHaveBeenApplied: true },
      true,
    ],
    [
      'a plain-text 500',
      { fault: { kind: 'http500', text: 'boom' }, method: 'PUT' },
      { code: 'UPSTREAM_ERROR', httpStatus: 500, mayHaveBeenApplied: true },
      false,
    ],
    [
      'a 202 with a malformed body',
      { fault: { kind: 'malformed' }, method: 'PUT' },
      { code: 'UPSTREAM_ERROR', httpStatus: 202, mayHaveBeenApplied: true },
      true,
    ],
    [
      'a truncated body',
      { fault: { kind: 'truncated' }, method: 'PUT' },
      { code: 'UPSTREAM_UNAVAILABLE', mayHaveBeenApplied: true },
      true,
    ],
    [
      'a body slower than ZSTACK_TIMEOUT_MS',
      { fault: { kind: 'slowBody', delayMs: 1500 }, method: 'PUT' },
      { code: 'UPSTREAM_UNAVAILABLE', mayHaveBeenApplied: true },
      true,
    ],
    [
      'a poll that gets a plain-text 500',
      { fault: { kind: 'http500' }, path: '/api-jobs/' },
      { code: 'UPSTREAM_ERROR', mayHaveBeenApplied: true, jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/) },
      true,
    ],
    [
      'a poll whose answer is malformed',
      { fault: { kind: 'malformed' }, path: '/api-jobs/' },
      { code: 'UPSTREAM_ERROR', mayHaveBeenApplied: true, jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/) },
      true,
    ],
  ];

  it.each(cases)('%s', async (_name, rule, extensions, applied) => {
    h.simulator.controls.injectFault(rule);
    const res = await approve(first);
    expect(res.body.errors?.[0]?.extensions).toMatchObject(extensions);
    expect(res.body.errors?.[0]?.message).toMatch(/may have reached ZStack and been applied/);
    expect(res.text).not.toContain(session);
    expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(puts()).toBe(1);
    expect(h.simulator.controls.getTicket(first)?.status).toBe(applied ? 'IntermediateApproved' : 'Pending');
    await expectStillServing();
  });

  it('a refusal before anything is applied (a 4xx answer to the write) does not say it may have been', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'errorCode', code: 'SYS.1007' }, method: 'PUT' });
    const res = await approve(first);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(res.body.errors?.[0]?.extensions).not.toHaveProperty('mayHaveBeenApplied');
    expect(puts()).toBe(1);
  });

  it('a poll whose connection resets is retried as a read; the write is not', async () => {
    h.simulator.controls.setJobLatency(100);
    h.simulator.controls.injectFault({ fault: { kind: 'reset' }, path: '/api-jobs/' });
    const res = await approve(first);
    expect(res.body.errors).toBeUndefined();
    expect(puts()).toBe(1);
    await expectStillServing();
  });

  it('a job whose result expired (404 while polling): UPSTREAM_ERROR with the job uuid', async () => {
    const c = h.simulator.controls;
    c.setJobLatency(300);
    const done = approve(first);
    await waitFor(() => c.count({ path: '/api-jobs/' }) > 0, 'the first poll');
    const jobUuid = c.requests
      .find((r) => r.path.includes('/api-jobs/'))
      ?.path.split('/')
      .pop() as string;
    c.expireJob(jobUuid);
    const res = await done;
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', jobUuid });
    expect(res.body.errors?.[0]?.message).toMatch(/may have been applied/);
    expect(puts()).toBe(1);
    c.setJobLatency(0);
    await expectStillServing();
  });

  it('the session expiring between polls: UNAUTHENTICATED, one PUT, and a new session works', async () => {
    const c = h.simulator.controls;
    c.setJobLatency(300);
    const done = approve(first);
    await waitFor(() => c.count({ path: '/api-jobs/' }) > 0, 'the first poll');
    c.expireSession(session);
    const res = await done;
    // ZStack evaluates an async API's session inside its job (polls need none): the job fails ID.1001.
    expect(res.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      zstack: { code: 'ID.1001' },
      jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(c.getTicket(first)?.status).toBe('Pending');
    expect(puts()).toBe(1);
    c.setJobLatency(0);
    session = await h.adminSession();
    await expectStillServing();
  });
});
