import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHANGE, type OpsHarness, startOps } from './support.js';

let h: OpsHarness;
beforeAll(async () => {
  // trace: every line the gateway can write is written, so the grep sees all of them.
  h = await startOps({ env: { LOG_LEVEL: 'trace', ZSTACK_TIMEOUT_MS: '300' } });
});
afterAll(() => h.close());

it('no log line carries a session uuid, through logins, faults, expiry and logout', async () => {
  const c = h.simulator.controls;
  const sessions: string[] = [];
  const admin = await h.adminSession();
  sessions.push(admin);
  const approver = c.demo.approvers[0];
  if (!approver) throw new Error('demo data needs an approver');
  const login = await h.gql('mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }', {
    i: { kind: 'IAM2_VIRTUAL_ID', virtualIdName: approver.name, password: approver.password },
  });
  const iam = (login.body.data?.logIn as { session: { uuid: string } } | undefined)?.session.uuid ?? '';
  expect(iam).toMatch(/^[0-9a-f]{32}$/);
  sessions.push(iam);
  const [p1, p2, p3] = c.listTickets().filter((t) => t.status === 'Pending');

  await h.gql('{ session { uuid expiredDate } }', {}, { session: admin });
  await h.gql('{ session { uuid } }', {}, { headers: { authorization: `Bearer ${admin.toUpperCase()}` } });
  c.injectFault({ fault: { kind: 'http500', text: `session ${admin} broke` }, method: 'PUT' });
  await h.gql(CHANGE, { input: { uuid: p1?.uuid, statusEvent: 'APPROVE' } }, { session: admin });
  c.injectFault({ fault: { kind: 'reset', after: true }, method: 'PUT' });
  await h.gql(CHANGE, { input: { uuid: p2?.uuid, statusEvent: 'APPROVE' } }, { session: admin });
  c.injectFault({ fault: { kind: 'latency', ms: 1000 }, path: '/valid' });
  await h.gql('{ session { uuid } }', {}, { session: iam });
  c.injectFault({
    fault: { kind: 'errorCode', code: 'ID.1001', details: `session[${iam}] expired` },
    method: 'PUT',
  });
  await h.gql(CHANGE, { input: { uuid: p3?.uuid, statusEvent: 'REJECT' } }, { session: iam });
  c.expireSession(admin);
  await h.gql(CHANGE, { input: { uuid: p3?.uuid, statusEvent: 'APPROVE' } }, { session: admin });
  await h.gql('{ session { uuid } }', {}, { session: admin });
  await h.gql('mutation { logOut { loggedOut } }', {}, { session: iam });
  await h.gql('{ nope }', {}, { session: iam });

  const text = h.logs.join('');
  // The run did log: request lines, upstream calls, job waits, with request ids.
  expect(h.logs.length).toBeGreaterThan(20);
  expect(text).toContain('"msg":"upstream call"');
  expect(text).toContain('"msg":"job wait"');
  expect(text).toContain('"code":"UPSTREAM_UNAVAILABLE"');
  for (const s of sessions) {
    expect(text.toLowerCase()).not.toContain(s.toLowerCase());
  }
  expect(text).not.toMatch(/OAuth [0-9a-f]/i);
});
