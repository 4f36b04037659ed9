import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { asyncCall, call, loginAccount, loginVirtualId, start } from './support.js';

type Role = 'admin' | 'currentApprover' | 'otherApprover' | 'submitter' | 'otherSubmitter';
const STATUSES = ['Pending', 'IntermediateApproved', 'FinalApproved', 'Rejected', 'Cancelled'] as const;
const EVENTS = ['open', 'approve', 'cancel', 'reject', 'reopen'] as const;
const ROLES: Role[] = ['admin', 'currentApprover', 'otherApprover', 'submitter', 'otherSubmitter'];

const LEGAL: Record<string, readonly string[]> = {
  open: [],
  approve: ['Pending', 'IntermediateApproved'],
  reject: ['Pending', 'IntermediateApproved'],
  cancel: ['Pending', 'IntermediateApproved', 'Rejected'],
  reopen: ['Rejected', 'Cancelled'],
};

function expected(status: string, event: string, role: Role): { to: string } | { code: string } {
  if (!LEGAL[event]?.includes(status)) return { code: 'SYS.1006' };
  const deciders: Role[] =
    event === 'approve' || event === 'reject' ? ['admin', 'currentApprover'] : ['admin', 'submitter'];
  if (!deciders.includes(role)) return { code: 'ID.1002' };
  switch (event) {
    case 'approve':
      return { to: status === 'Pending' ? 'IntermediateApproved' : 'FinalApproved' };
    case 'reject':
      return { to: 'Rejected' };
    case 'cancel':
      return { to: 'Cancelled' };
    default:
      return { to: 'Pending' };
  }
}

const CASES = STATUSES.flatMap((status) =>
  EVENTS.flatMap((event) =>
    ROLES.map((role) => ({ status, event, role, outcome: expected(status, event, role) })),
  ),
);

let sim: Simulator;
const sessions = new Map<string, string>(); // actor uuid → session
let adminSession: string;

beforeAll(async () => {
  sim = await start();
  adminSession = await loginAccount(sim);
  const d = sim.controls.demo;
  for (const v of [...d.submitters, ...d.approvers]) sessions.set(v.uuid, await loginVirtualId(sim, v.name));
});
afterAll(() => sim.close());
beforeEach(() => sim.controls.reset());

// biome-ignore lint/suspicious/noExplicitAny: wire JSON
type Inv = Record<string, any>;

function ticketIn(status: string): Inv {
  const t = sim.controls.listTickets().find((x) => x.status === status);
  if (!t) throw new Error(`no seeded ticket in ${status}`);
  return t;
}

let seededFlows: Inv[] | undefined;
/** The seeded flows; their uuids survive reset(), so one query serves every case. */
async function flows(): Promise<Inv[]> {
  if (!seededFlows) {
    const r = await call(sim, 'GET', '/v1/tickets/flow', { session: adminSession });
    seededFlows = r.json.inventories as Inv[];
  }
  return seededFlows;
}

function sessionFor(role: Role, ticket: Inv, allFlows: Inv[]): { session: string; uuid: string } {
  const d = sim.controls.demo;
  const submitter = ticket.accountSystemContext.virtualIDUuid as string;
  const current = allFlows.find((f) => f.uuid === ticket.currentFlowUuid);
  const currentApprover = current?.approverUuid as string;
  let uuid: string;
  switch (role) {
    case 'admin':
      return { session: adminSession, uuid: d.admin.uuid };
    case 'currentApprover':
      uuid = currentApprover;
      break;
    case 'otherApprover':
      uuid = d.approvers.find((a) => a.uuid !== currentApprover)?.uuid as string;
      break;
    case 'submitter':
      uuid = submitter;
      break;
    case 'otherSubmitter':
      uuid = d.submitters.find((s) => s.uuid !== submitter)?.uuid as string;
      break;
  }
  return { session: sessions.get(uuid) as string, uuid };
}

describe('status machine (every event from every status, by every kind of actor)', () => {
  it.each(CASES)('$status + $event by $role → $outcome', async ({ status, event, role, outcome }) => {
    const allFlows = await flows();
    const ticket = ticketIn(status);
    const before = sim.controls.historyOf(ticket.uuid);
    const actor = sessionFor(role, ticket, allFlows);
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${ticket.uuid}/actions`, {
      session: actor.session,
      body: { changeTicketStatus: { statusEvent: event, comment: `${event} by ${role}` } },
    });
    const after = sim.controls.historyOf(ticket.uuid);
    if ('code' in outcome) {
      expect(job.status).toBe(503);
      expect(job.json.error.code).toBe(outcome.code);
      if (outcome.code === 'SYS.1006') {
        expect(job.json.error.details).toBe(
          `ticket[uuid:${ticket.uuid}] cannot change status from ${status} by event ${event}`,
        );
      } else {
        expect(job.json.error.details).toContain('operation denied');
      }
      expect(sim.controls.getTicket(ticket.uuid)).toEqual(ticket);
      expect(after).toEqual(before);
      return;
    }
    expect(job.status).toBe(200);
    expect(job.json.inventory.status).toBe(outcome.to);
    expect(sim.controls.getTicket(ticket.uuid)?.status).toBe(outcome.to);
    expect(after).toHaveLength(before.length + 1);
    const row = after.at(-1) as Inv;
    const actingFlow = allFlows.find((f) => f.uuid === ticket.currentFlowUuid);
    expect(row).toMatchObject({
      ticketUuid: ticket.uuid,
      fromStatus: status,
      toStatus: outcome.to,
      comment: `${event} by ${role}`,
      operationContextType: 'StatusChanged',
      operatorType: role === 'admin' ? 'Account' : 'IAM2VirtualID',
      operatorUuid: actor.uuid,
      flowName: actingFlow?.name,
    });
    // One AUTO_INCREMENT counter for the whole table (V4.0.0 migration): later, so larger.
    expect(row.sequence).toBeGreaterThan(Number(before.at(-1)?.sequence));
    if (outcome.to === 'FinalApproved') {
      expect(row.operationContext.requestResults[0]).toMatchObject({
        successTimes: 1,
        failureTimes: 0,
        errors: [],
      });
    } else {
      expect(row.operationContext).toEqual({});
    }
  });
});

describe('ChangeTicketStatus details', () => {
  it('walks Pending → IntermediateApproved → FinalApproved along the flows; reopen goes back to flow 1', async () => {
    const [flow1, flow2] = await flows();
    const ticket = ticketIn('Pending');
    const [carol, dave] = sim.controls.demo.approvers;
    const change = (uuid: string, session: string, statusEvent: string) =>
      asyncCall(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
        session,
        body: { changeTicketStatus: { statusEvent } },
      });
    expect(ticket.currentFlowUuid).toBe(flow1?.uuid);
    const mid = await change(ticket.uuid, sessions.get(carol?.uuid ?? '') as string, 'approve');
    expect(mid.json.inventory).toMatchObject({
      status: 'IntermediateApproved',
      currentFlowUuid: flow2?.uuid,
    });
    // carol has acted; now only dave (or an admin) may.
    const again = await change(ticket.uuid, sessions.get(carol?.uuid ?? '') as string, 'approve');
    expect(again.json.error.code).toBe('ID.1002');
    const done = await change(ticket.uuid, sessions.get(dave?.uuid ?? '') as string, 'approve');
    expect(done.json.inventory.status).toBe('FinalApproved');
    const hist = await call(
      sim,
      'GET',
      `/v1/tickets/histories?q=ticketUuid=${ticket.uuid}&q=toStatus=FinalApproved`,
      {
        session: adminSession,
      },
    );
    expect(hist.text).toContain('"successTimes":1.0,"failureTimes":0.0');

    const rejected = sim.controls
      .listTickets()
      .find((x) => x.status === 'Rejected' && x.currentFlowUuid === flow2?.uuid);
    if (!rejected) throw new Error('seed has a ticket rejected at flow 2');
    const reopened = await change(rejected.uuid as string, adminSession, 'reopen');
    expect(reopened.json.inventory).toMatchObject({ status: 'Pending', currentFlowUuid: flow1?.uuid });
  });

  it.each([
    [
      'a missing statusEvent',
      { comment: 'x' },
      'SYS.1007',
      'field[statusEvent] of message[org.zstack.ticket.api.APIChangeTicketStatusMsg] is mandatory, can not be null',
    ],
    [
      'an unknown statusEvent',
      { statusEvent: 'escalate' },
      'SYS.1007',
      'valid value for field[statusEvent] of message[org.zstack.ticket.api.APIChangeTicketStatusMsg] are [open, approve, cancel, reject, reopen], but escalate found',
    ],
    [
      'a comment over 65535 characters',
      { statusEvent: 'approve', comment: 'x'.repeat(65536) },
      'SYS.1007',
      undefined,
    ],
  ])('%s → %s', async (_name, params, code, details) => {
    const t = ticketIn('Pending');
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${t.uuid}/actions`, {
      session: adminSession,
      body: { changeTicketStatus: params },
    });
    expect(job.status).toBe(503);
    expect(job.json.error.code).toBe(code);
    if (details) expect(job.json.error.details).toBe(details);
  });

  it('a 65535-character comment is fine', async () => {
    const t = ticketIn('Pending');
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${t.uuid}/actions`, {
      session: adminSession,
      body: { changeTicketStatus: { statusEvent: 'approve', comment: 'x'.repeat(65535) } },
    });
    expect(job.status).toBe(200);
  });

  it('an unknown ticket → SYS.1003', async () => {
    const uuid = '9'.repeat(32);
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
      session: adminSession,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(job.json.error).toMatchObject({
      code: 'SYS.1003',
      details: `invalid field[uuid], resource[uuid:${uuid}, type:TicketVO] not found`,
    });
  });
});

describe('CreateTicket, UpdateTicketRequest, DeleteTicket', () => {
  const alice = () => sim.controls.demo.submitters[0] as { uuid: string };
  const bob = () => sim.controls.demo.submitters[1] as { uuid: string };
  const params = (over: Record<string, unknown> = {}) => ({
    name: 'a new VM',
    requests: [
      {
        requestName: 'create vm',
        apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
        executeTimes: 1,
        apiBody: { name: 'vm1', cpuNum: 4 },
      },
    ],
    accountSystemType: 'iam2',
    accountSystemContext: { projectUuid: sim.controls.demo.projectUuid, virtualIDUuid: alice().uuid },
    ...over,
  });

  it('creates a Pending ticket on the first flow, with its type and a first history row', async () => {
    const [flow1] = await flows();
    const job = await asyncCall(sim, 'POST', '/v1/tickets', {
      session: sessions.get(alice().uuid),
      body: { params: { ...params(), systemTags: ['a::b'] }, systemTags: ['c::d'], userTags: [] },
    });
    expect(job.status).toBe(200);
    const inv = job.json.inventory;
    expect(inv).toMatchObject({
      name: 'a new VM',
      status: 'Pending',
      currentFlowUuid: flow1?.uuid,
      flowCollectionUuid: sim.controls.demo.flowCollectionUuid,
      ticketTypeUuid: sim.controls.demo.ticketTypeUuids[0],
      accountSystemType: 'iam2',
    });
    expect(inv).not.toHaveProperty('description');
    expect(job.text).toContain('"executeTimes":1.0');
    expect(job.text).toContain('"cpuNum":4.0');
    const hist = sim.controls.historyOf(inv.uuid);
    expect(hist).toHaveLength(1);
    // fromStatus is NOT NULL (V2.4.0 migration); sequence comes from the table-wide counter (V4.0.0).
    expect(hist[0]).toMatchObject({ fromStatus: 'Pending', toStatus: 'Pending', operatorUuid: alice().uuid });
    expect(hist[0]?.sequence).toBeGreaterThan(1);
    // The new ticket is now alice's to cancel, not bob's.
    const byBob = await asyncCall(sim, 'PUT', `/v1/tickets/${inv.uuid}/actions`, {
      session: sessions.get(bob().uuid),
      body: { changeTicketStatus: { statusEvent: 'cancel' } },
    });
    expect(byBob.json.error.code).toBe('ID.1002');
  });

  it.each([
    ['no name', { name: undefined }, 'SYS.1007'],
    ['empty requests', { requests: [] }, 'SYS.1007'],
    ['no accountSystemType', { accountSystemType: undefined }, 'SYS.1007'],
    ['no accountSystemContext', { accountSystemContext: undefined }, 'SYS.1007'],
    ['a name over 255', { name: 'n'.repeat(256) }, 'SYS.1007'],
    ['a bad resourceUuid', { resourceUuid: 'not-a-uuid' }, 'SYS.1007'],
    ['an unknown flow collection', { flowCollectionUuid: '1'.repeat(32) }, 'SYS.1003'],
  ])('refuses %s with %s', async (_name, over, code) => {
    const job = await asyncCall(sim, 'POST', '/v1/tickets', {
      session: sessions.get(alice().uuid),
      body: { params: params(over) },
    });
    expect(job.status).toBe(503);
    expect(job.json.error.code).toBe(code);
  });

  it('a virtual ID cannot submit for another one (ID.1002); an admin can', async () => {
    const ctx = { projectUuid: sim.controls.demo.projectUuid, virtualIDUuid: bob().uuid };
    const denied = await asyncCall(sim, 'POST', '/v1/tickets', {
      session: sessions.get(alice().uuid),
      body: { params: params({ accountSystemContext: ctx }) },
    });
    expect(denied.json.error.code).toBe('ID.1002');
    const ok = await asyncCall(sim, 'POST', '/v1/tickets', {
      session: adminSession,
      body: { params: params({ accountSystemContext: ctx }) },
    });
    expect(ok.status).toBe(200);
  });

  it.each([
    ['Pending', 'submitter', 200],
    ['Rejected', 'submitter', 200],
    ['Cancelled', 'admin', 200],
    ['IntermediateApproved', 'submitter', 'SYS.1006'],
    ['FinalApproved', 'admin', 'SYS.1006'],
    ['Pending', 'otherSubmitter', 'ID.1002'],
    ['Pending', 'currentApprover', 'ID.1002'],
  ] as const)('UpdateTicketRequest in %s by %s → %s', async (status, role, outcome) => {
    const ticket = ticketIn(status);
    const actor = sessionFor(role, ticket, await flows());
    const newRequests = [{ requestName: 'changed', apiName: 'x', executeTimes: 2, apiBody: {} }];
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${ticket.uuid}/actions`, {
      session: actor.session,
      body: { updateTicketRequest: { requests: newRequests, description: 'new text' } },
    });
    if (outcome === 200) {
      expect(job.status).toBe(200);
      expect(job.json.inventory).toMatchObject({ status, description: 'new text', request: newRequests });
      expect(job.text).toContain('"executeTimes":2.0');
    } else {
      expect(job.json.error.code).toBe(outcome);
      expect(sim.controls.getTicket(ticket.uuid)).toEqual(ticket);
    }
  });

  it('DeleteTicket: {} for the submitter, ID.1002 for someone else', async () => {
    const ticket = ticketIn('Pending');
    const other = sessionFor('otherSubmitter', ticket, await flows());
    const denied = await asyncCall(sim, 'DELETE', `/v1/tickets/${ticket.uuid}`, { session: other.session });
    expect(denied.json.error.code).toBe('ID.1002');
    const mine = sessionFor('submitter', ticket, await flows());
    const ok = await asyncCall(sim, 'DELETE', `/v1/tickets/${ticket.uuid}?deleteMode=Permissive`, {
      session: mine.session,
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('{}');
    expect(sim.controls.getTicket(ticket.uuid)).toBeUndefined();
  });
});

describe('in-process controls', () => {
  it('changeTicketStatus acts as admin by default, as the given actor otherwise, and throws when illegal', () => {
    const t = ticketIn('Pending');
    const [carol, dave] = sim.controls.demo.approvers;
    expect(() => sim.controls.changeTicketStatus(t.uuid, 'approve', dave?.uuid)).toThrow(/ID\.1002/);
    sim.controls.changeTicketStatus(t.uuid, 'approve', carol?.uuid);
    expect(sim.controls.getTicket(t.uuid)?.status).toBe('IntermediateApproved');
    sim.controls.changeTicketStatus(t.uuid, 'approve');
    expect(sim.controls.getTicket(t.uuid)?.status).toBe('FinalApproved');
    expect(() => sim.controls.changeTicketStatus(t.uuid, 'reopen')).toThrow(/SYS\.1006/);
    expect(sim.controls.historyOf(t.uuid).at(-1)).toMatchObject({ operatorType: 'Account' });
  });

  it('setTicketField shows on the wire, e.g. a status a newer ZStack might send', async () => {
    const t = ticketIn('Pending');
    sim.controls.setTicketField(t.uuid, 'status', 'Escalated');
    const r = await call(sim, 'GET', `/v1/tickets/${t.uuid}`, { session: adminSession });
    expect(r.json.inventories[0].status).toBe('Escalated');
    const job = await asyncCall(sim, 'PUT', `/v1/tickets/${t.uuid}/actions`, {
      session: adminSession,
      body: { changeTicketStatus: { statusEvent: 'approve' } },
    });
    expect(job.json.error.code).toBe('SYS.1006');
  });

  it('reset restores the seeded state', async () => {
    const before = sim.controls.listTickets();
    sim.controls.changeTicketStatus(ticketIn('Pending').uuid, 'reject');
    expect(sim.controls.listTickets()).not.toEqual(before);
    sim.controls.reset();
    expect(sim.controls.listTickets()).toEqual(before);
  });
});

describe('a final approval whose request fails', () => {
  const approve = (uuid: string) =>
    asyncCall(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
      session: adminSession,
      body: { changeTicketStatus: { statusEvent: 'approve', comment: 'go' } },
    });

  it('demo: the oversized VM ticket fails with SYS.1006 whose cause is the API’s HOST_ALLOCATION.1000', async () => {
    const uuid = sim.controls.demo.failingTicketUuid;
    const before = sim.controls.getTicket(uuid) as Inv;
    expect(before).toMatchObject({ status: 'IntermediateApproved' });
    expect(before?.request[0]).toMatchObject({
      apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
      apiBody: { cpuNum: 128 },
    });
    const historyBefore = sim.controls.historyOf(uuid);

    const job = await approve(uuid);
    expect(job.status).toBe(503);
    expect(job.json).toEqual({
      error: {
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
    // Nothing changed: no status, no flow, no history row.
    expect(sim.controls.getTicket(uuid)).toEqual(before);
    expect(sim.controls.historyOf(uuid)).toEqual(historyBefore);
  });

  it('controls: injectRequestFailure fails the next matching execution only, then approvals work again', async () => {
    const t = ticketIn('Pending');
    sim.controls.injectRequestFailure({
      code: 'VOLUME.1000',
      description: 'custom description',
      details: 'the data volume could not be created',
      ticketUuid: t.uuid,
    });
    // The first approval executes nothing (an intermediate one), so the rule is still armed.
    expect((await approve(t.uuid)).json.inventory.status).toBe('IntermediateApproved');
    const failed = await approve(t.uuid);
    expect(failed.status).toBe(503);
    expect(failed.json.error).toMatchObject({
      code: 'SYS.1006',
      cause: {
        code: 'VOLUME.1000',
        description: 'custom description',
        details: 'the data volume could not be created',
      },
    });
    expect(sim.controls.getTicket(t.uuid)?.status).toBe('IntermediateApproved');
    // Used up: the same approval now goes through.
    expect((await approve(t.uuid)).json.inventory.status).toBe('FinalApproved');
  });

  it('rules match by apiName and ticket; over HTTP, times: null fails until DELETE /__simulator/faults', async () => {
    const waiting = (sim.controls.listTickets() as Inv[]).filter(
      (x) => x.status === 'IntermediateApproved' && x.uuid !== sim.controls.demo.failingTicketUuid,
    );
    const a = waiting[0];
    const b = waiting.find((x) => x.request[0].apiName !== a?.request[0].apiName);
    if (!a || !b) throw new Error('demo data needs two waiting tickets for different APIs');
    const base = sim.url.replace(/\/zstack$/, '');
    const post = await fetch(`${base}/__simulator/request-failures`, {
      method: 'POST',
      body: JSON.stringify({ code: 'SYS.1001', apiName: a.request[0].apiName, times: null }),
    });
    expect(post.status).toBe(200);
    sim.controls.injectRequestFailure({ code: 'SYS.1000', apiName: 'org.zstack.header.NoSuchMsg' });
    // Neither rule matches b's API.
    expect((await approve(b.uuid)).json.inventory.status).toBe('FinalApproved');
    for (let i = 0; i < 2; i++) {
      const r = await approve(a.uuid);
      expect(r.json.error.cause).toMatchObject({
        code: 'SYS.1001',
        description: 'A message or a operation timeout',
      });
    }
    expect((await fetch(`${base}/__simulator/faults`, { method: 'DELETE' })).status).toBe(200);
    expect((await approve(a.uuid)).json.inventory.status).toBe('FinalApproved');
    const bad = await fetch(`${base}/__simulator/request-failures`, { method: 'POST', body: '{"times":1}' });
    expect(bad.status).toBe(400);
  });
});
