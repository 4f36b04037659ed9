import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

const APPROVE = `mutation($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) {
    clientMutationId
    ticket {
      uuid name description status accountSystemType ticketTypeUuid currentFlowUuid flowCollectionUuid createDate lastOpDate
      request { requestName apiName executeTimes apiBody }
      accountSystemContext { projectUuid virtualIDUuid json }
    }
  }
}`;

let h: Harness;
let admin: string;

beforeAll(async () => {
  h = await startHarness({
    simulator: { advertisedHost: 'mn.zstack.invalid:8080', timeZone: 'Asia/Shanghai' },
  });
});
afterAll(() => h.close());
beforeEach(async () => {
  h.simulator.controls.reset();
  const { admin: a } = h.simulator.controls.demo;
  admin = await h.logIn({ kind: 'ACCOUNT', accountName: a.accountName, password: a.password });
  h.simulator.controls.clearRequests();
});

function ticketIn(status: string): string {
  const ticket = h.simulator.controls.listTickets().find((t) => t.status === status);
  if (!ticket) throw new Error(`the demo data has no ${status} ticket`);
  return ticket.uuid as string;
}

function writes() {
  return h.simulator.controls.requests.filter((r) => r.method !== 'GET');
}

describe('changeTicketStatus: each status event', () => {
  it.each([
    ['APPROVE', 'approve', 'Pending', ['INTERMEDIATE_APPROVED', 'FINAL_APPROVED']],
    ['REJECT', 'reject', 'Pending', ['REJECTED']],
    ['CANCEL', 'cancel', 'Pending', ['CANCELLED']],
    ['REOPEN', 'reopen', 'Rejected', ['PENDING']],
  ])('%s sends one PUT and returns the typed ticket', async (event, wireEvent, from, expected) => {
    const uuid = ticketIn(from);
    const historyBefore = h.simulator.controls.historyOf(uuid).length;
    const res = await h.gql(
      APPROVE,
      { input: { uuid, statusEvent: event, comment: `by test: ${event}`, clientMutationId: 'm1' } },
      { session: admin },
    );
    expect(res.errors).toBeUndefined();
    // biome-ignore lint/suspicious/noExplicitAny: test data
    const payload = (res.data as any).changeTicketStatus;
    expect(payload.clientMutationId).toBe('m1');
    expect(payload.ticket.uuid).toBe(uuid);
    expect(expected).toContain(payload.ticket.status);
    expect(payload.ticket.createDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Array.isArray(payload.ticket.request)).toBe(true);

    const sent = writes();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.method).toBe('PUT');
    expect(sent[0]?.path).toBe(`/zstack/v1/tickets/${uuid}/actions`);
    expect(JSON.parse(sent[0]?.body ?? '')).toEqual({
      changeTicketStatus: { statusEvent: wireEvent, comment: `by test: ${event}` },
    });
    expect(sent[0]?.headers.authorization).toBe(`OAuth ${admin}`);

    const history = h.simulator.controls.historyOf(uuid);
    expect(history).toHaveLength(historyBefore + 1);
    expect(history.at(-1)).toMatchObject({ comment: `by test: ${event}`, fromStatus: from });
  });

  it('OPEN on an open ticket is refused by ZStack as SYS.1006 → UPSTREAM_ERROR with the ErrorCode', async () => {
    const uuid = ticketIn('Pending');
    const res = await h.gql(APPROVE, { input: { uuid, statusEvent: 'OPEN' } }, { session: admin });
    expect(res.data).toEqual({ changeTicketStatus: null });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      zstack: { code: 'SYS.1006', description: expect.any(String), details: expect.stringContaining(uuid) },
      jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(writes()).toHaveLength(1);
  });

  it('accepts an upper-case uuid and sends it lower-case', async () => {
    const uuid = ticketIn('Pending');
    const res = await h.gql(
      APPROVE,
      { input: { uuid: uuid.toUpperCase(), statusEvent: 'APPROVE' } },
      { session: admin },
    );
    expect(res.errors).toBeUndefined();
    expect(writes()[0]?.path).toBe(`/zstack/v1/tickets/${uuid}/actions`);
  });

  it('reads Java dates in the zone ZStack reports, without being told', async () => {
    const uuid = ticketIn('Pending');
    const wire = h.simulator.controls.getTicket(uuid)?.createDate as string;
    const res = await h.gql(APPROVE, { input: { uuid, statusEvent: 'APPROVE' } }, { session: admin });
    // biome-ignore lint/suspicious/noExplicitAny: test data
    const iso = (res.data as any).changeTicketStatus.ticket.createDate as string;
    // The simulator renders in Asia/Shanghai (UTC+8, no DST): the wall-clock time is 8 hours ahead of UTC.
    const shown = new Date(new Date(iso).getTime() + 8 * 3600_000);
    const hour12 = shown.getUTCHours() % 12 || 12;
    expect(wire).toContain(`${hour12}:${String(shown.getUTCMinutes()).padStart(2, '0')}:`);
    expect(wire).toContain(`, ${shown.getUTCFullYear()}`);
  });
});

describe('changeTicketStatus: refused before any upstream call', () => {
  it.each([
    ['a short uuid', { uuid: 'abc', statusEvent: 'APPROVE' }, 'BAD_USER_INPUT'],
    [
      'a path trick',
      { uuid: '../../accounts/login/aaaaaaaaaaaaaa', statusEvent: 'APPROVE' },
      'BAD_USER_INPUT',
    ],
    [
      'a dashed uuid',
      { uuid: '1234abcd-1234-1234-1234-1234567890ab', statusEvent: 'APPROVE' },
      'BAD_USER_INPUT',
    ],
    [
      'a comment over 65535 characters',
      { uuid: 'a'.repeat(32), statusEvent: 'APPROVE', comment: 'x'.repeat(65536) },
      'BAD_USER_INPUT',
    ],
    [
      'an empty system tag',
      { uuid: 'a'.repeat(32), statusEvent: 'APPROVE', systemTags: [''] },
      'BAD_USER_INPUT',
    ],
    [
      'an empty user tag',
      { uuid: 'a'.repeat(32), statusEvent: 'APPROVE', userTags: ['ok', ''] },
      'BAD_USER_INPUT',
    ],
  ])('%s', async (_name, input, code) => {
    const res = await h.gql(APPROVE, { input }, { session: admin });
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('no session → UNAUTHENTICATED', async () => {
    const res = await h.gql(APPROVE, { input: { uuid: 'a'.repeat(32), statusEvent: 'APPROVE' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('a malformed Authorization header counts as no session', async () => {
    const res = await h.gql(
      APPROVE,
      { input: { uuid: 'a'.repeat(32), statusEvent: 'APPROVE' } },
      { authorization: 'OAuth not-a-session' },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('accepts Bearer and sends it upstream as OAuth', async () => {
    const uuid = ticketIn('Pending');
    const res = await h.gql(
      APPROVE,
      { input: { uuid, statusEvent: 'APPROVE' } },
      { authorization: `Bearer ${admin}` },
    );
    expect(res.errors).toBeUndefined();
    expect(writes()[0]?.headers.authorization).toBe(`OAuth ${admin}`);
  });
});
