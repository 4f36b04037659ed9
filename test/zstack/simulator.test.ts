import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { JobEvent, ZStackClient } from '../../src/zstack/client.js';
import { createZStackClient } from '../../src/zstack/client.js';
import { parseJavaDate } from '../../src/zstack/dates.js';
import { ZStackApiError, ZStackHttpError, ZStackUnavailableError } from '../../src/zstack/errors.js';
import { likeContains } from '../../src/zstack/query.js';
import {
  getPlatformTimeZone,
  logInByAccount,
  logInIAM2VirtualId,
  logOut,
  validateSession,
} from '../../src/zstack/sessions.js';
import { changeTicketStatus, queryTicketHistories, queryTickets } from '../../src/zstack/tickets.js';

let sim: Simulator;
let client: ZStackClient;
const jobs: JobEvent[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, jobLatencyMs: 40, advertisedHost: 'mn.zstack.invalid:8080' });
  client = createZStackClient({
    baseUrl: sim.url,
    timeoutMs: 2000,
    jobTimeoutMs: 5000,
    onJob: (e) => jobs.push(e),
  });
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

beforeEach(() => {
  sim.controls.reset();
  sim.controls.setJobLatency(40);
  jobs.length = 0;
});

function pendingTicketUuid(): string {
  const t = sim.controls.listTickets().find((x) => x.status === 'Pending');
  expect(t).toBeDefined();
  return (t as { uuid: string }).uuid;
}

describe('against the simulator', () => {
  it('an approver logs in and approves a ticket; polling goes to our host, not the advertised one', async () => {
    const approver = sim.controls.demo.approvers[0] as { name: string; password: string; uuid: string };
    const session = await logInIAM2VirtualId(client, { name: approver.name, password: approver.password });
    expect(session.uuid).toMatch(/^[0-9a-f]{32}$/);
    const uuid = pendingTicketUuid();
    const historyBefore = sim.controls.historyOf(uuid).length;

    const ticket = await changeTicketStatus(
      client,
      { uuid, statusEvent: 'approve', comment: 'looks good = fine' },
      { session: session.uuid },
    );

    expect(ticket.uuid).toBe(uuid);
    expect(ticket.status).toBe('IntermediateApproved');
    expect(parseJavaDate(ticket.lastOpDate ?? '', 'UTC')).toBeInstanceOf(Date);
    const history = sim.controls.historyOf(uuid);
    expect(history).toHaveLength(historyBefore + 1);
    expect(history.at(-1)).toMatchObject({ fromStatus: 'Pending', toStatus: 'IntermediateApproved' });
    expect(sim.controls.count({ method: 'PUT', path: `/v1/tickets/${uuid}/actions` })).toBe(1);
    expect(sim.controls.count({ method: 'GET', path: '/v1/api-jobs/' })).toBe(jobs[0]?.polls);
    expect(jobs[0]).toMatchObject({ route: '/v1/tickets/{uuid}/actions', outcome: 'succeeded' });

    const histories = await queryTicketHistories(
      client,
      { conditions: [{ field: 'ticketUuid', op: '=', value: uuid }], replyWithCount: true },
      { session: session.uuid },
    );
    expect(histories.total).toBe(historyBefore + 1);
  });

  it('a replay with the same job uuid changes the ticket once and returns the same result', async () => {
    const admin = sim.controls.demo.admin;
    const session = await logInByAccount(client, {
      accountName: admin.accountName,
      password: admin.password,
    });
    const uuid = pendingTicketUuid();
    const historyBefore = sim.controls.historyOf(uuid).length;
    const opts = { session: session.uuid, jobUuid: 'e'.repeat(32) };
    const first = await changeTicketStatus(client, { uuid, statusEvent: 'reject', comment: 'no' }, opts);
    const second = await changeTicketStatus(client, { uuid, statusEvent: 'reject', comment: 'no' }, opts);
    expect(second).toEqual(first);
    expect(first.status).toBe('Rejected');
    expect(sim.controls.historyOf(uuid)).toHaveLength(historyBefore + 1);
  });

  it('a refused transition is ZStackApiError SYS.1006 from the failed job', async () => {
    const admin = sim.controls.demo.admin;
    const session = await logInByAccount(client, {
      accountName: admin.accountName,
      password: admin.password,
    });
    const uuid = pendingTicketUuid();
    const err = await changeTicketStatus(
      client,
      { uuid, statusEvent: 'reopen' },
      { session: session.uuid },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZStackApiError);
    expect((err as ZStackApiError).errorCode.code).toBe('SYS.1006');
  });

  it('queries with a LIKE filter, reads the time zone, logs out; the old session is then refused', async () => {
    const admin = sim.controls.demo.admin;
    const session = await logInByAccount(client, {
      accountName: admin.accountName,
      password: admin.password,
    });
    const opts = { session: session.uuid };
    const reply = await queryTickets(
      client,
      {
        conditions: [{ field: 'name', op: '~=', value: likeContains('ticket 1') }],
        limit: 100,
        replyWithCount: true,
      },
      opts,
    );
    expect(reply.inventories?.length).toBeGreaterThan(0);
    for (const t of reply.inventories ?? []) expect(t.name).toContain('ticket 1');
    expect(await getPlatformTimeZone(client, opts)).toMatchObject({ timezone: expect.any(String) });
    expect(await validateSession(client, session.uuid)).toBe(true);
    await logOut(client, session.uuid);
    expect(await validateSession(client, session.uuid)).toBe(false);
    const err = await queryTickets(client, {}, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZStackApiError);
    expect((err as ZStackApiError).errorCode.code).toBe('ID.1001');
  });

  it('a wrong password is ID.1000', async () => {
    const err = await logInByAccount(client, { accountName: 'admin', password: 'nope' }).catch(
      (e: unknown) => e,
    );
    expect((err as ZStackApiError).errorCode.code).toBe('ID.1000');
  });

  it('injected faults: reset after applying → unavailable, may have applied, sent once; 500 → HTTP error', async () => {
    const admin = sim.controls.demo.admin;
    const session = await logInByAccount(client, {
      accountName: admin.accountName,
      password: admin.password,
    });
    const uuid = pendingTicketUuid();
    sim.controls.injectFault({ fault: { kind: 'reset', after: true }, method: 'PUT', path: '/v1/tickets/' });
    const err = await changeTicketStatus(
      client,
      { uuid, statusEvent: 'cancel' },
      { session: session.uuid },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: true });
    expect(sim.controls.count({ method: 'PUT', path: `/v1/tickets/${uuid}/actions` })).toBe(1);

    sim.controls.injectFault({ fault: { kind: 'http500', text: 'secret stack trace' }, method: 'GET' });
    const err500 = await queryTickets(client, {}, { session: session.uuid }).catch((e: unknown) => e);
    expect(err500).toBeInstanceOf(ZStackHttpError);
    expect((err500 as Error).message).not.toContain('secret');
  });
});
