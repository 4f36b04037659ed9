import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

let h: Harness;
let admin: string;
let pending: string;

beforeAll(async () => {
  h = await startHarness({
    env: {
      OPERATION_TIMEOUT_MS: '400',
      ZSTACK_JOB_TIMEOUT_MS: '10000',
      ZSTACK_TIMEOUT_MS: '10000',
      ZSTACK_TIME_ZONE: 'UTC',
    },
  });
});
afterAll(() => h.close());
beforeEach(async () => {
  const c = h.simulator.controls;
  c.reset();
  admin = await h.adminSession();
  pending = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
  c.clearRequests();
});

// Without the 400 ms budget both operations would succeed (the job and the read end after 3 s, well
// inside the 10 s ZStack timeouts), so the error code alone shows the budget ended them.
describe('OPERATION_TIMEOUT_MS: one budget for the whole operation', () => {
  it('a job wait stops at the budget with JOB_PENDING, after one PUT', async () => {
    h.simulator.controls.setJobLatency(3000);
    const res = await h.gql(
      'mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid } } }',
      { input: { uuid: pending, statusEvent: 'APPROVE' } },
      { session: admin },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('JOB_PENDING');
    expect(h.simulator.controls.jobOf(res.errors?.[0]?.extensions?.jobUuid as string)?.state).toBe('running');
    expect(h.simulator.controls.count({ method: 'PUT' })).toBe(1);
  });

  it('a slow read stops at the budget with UPSTREAM_UNAVAILABLE', async () => {
    h.simulator.controls.injectFault({
      fault: { kind: 'latency', ms: 3000 },
      method: 'GET',
      path: '/v1/tickets',
    });
    const res = await h.gql('{ tickets(first: 5) { nodes { uuid } } }', {}, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' })).toBe(1);
  });
});
