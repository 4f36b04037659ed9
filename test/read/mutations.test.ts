import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Harness } from '../helpers/harness.js';
import { type Any, logInAdmin, startReadHarness } from './support.js';

let h: Harness;
let admin: string;
const s: Record<string, string> = {};

beforeAll(async () => {
  h = await startReadHarness();
  admin = await logInAdmin(h);
  const { submitters, approvers } = h.simulator.controls.demo;
  for (const v of [...submitters, ...approvers]) {
    s[v.name] = await h.logIn({ kind: 'IAM2_VIRTUAL_ID', virtualIdName: v.name, password: v.password });
  }
});
afterAll(() => h.close());
beforeEach(() => {
  h.simulator.controls.reset();
});

const writes = () => h.simulator.controls.requests.filter((r) => r.method !== 'GET');
const demo = () => h.simulator.controls.demo;
const alice = () => demo().submitters[0] as { uuid: string; name: string };

const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  clientMutationId
  ticket { uuid name description status accountSystemType flowCollectionUuid
    request { requestName apiName executeTimes apiBody }
    accountSystemContext { projectUuid virtualIDUuid }
    ticketType { name } history { toStatus sequence } }
} }`;

const REQUEST = {
  requestName: 'create vm',
  apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
  executeTimes: 1,
  apiBody: { name: 'vm-1', cpuNum: 2 },
};

function createInput(extra: Record<string, unknown> = {}) {
  return {
    name: 'a new vm',
    description: 'for the demo',
    requests: [REQUEST],
    accountSystemType: 'iam2',
    accountSystemContext: { projectUuid: demo().projectUuid, virtualIDUuid: alice().uuid },
    clientMutationId: 'c1',
    ...extra,
  };
}

async function create(): Promise<string> {
  const res = await h.gql<Any>(CREATE, { input: createInput() }, { session: s.alice });
  expect(res.errors).toBeUndefined();
  h.simulator.controls.clearRequests();
  return res.data.createTicket.ticket.uuid;
}

const APPROVE = `mutation($uuid: ID!, $comment: String) {
  changeTicketStatus(input: { uuid: $uuid, statusEvent: APPROVE, comment: $comment }) { ticket { status } } }`;

describe('create → approve → history', () => {
  it('walks a ticket from submission to final approval', async () => {
    const res = await h.gql<Any>(CREATE, { input: createInput() }, { session: s.alice });
    expect(res.errors).toBeUndefined();
    const created = res.data.createTicket;
    expect(created.clientMutationId).toBe('c1');
    expect(created.ticket).toMatchObject({
      name: 'a new vm',
      description: 'for the demo',
      status: 'PENDING',
      accountSystemType: 'iam2',
      flowCollectionUuid: demo().flowCollectionUuid,
      request: [REQUEST],
      accountSystemContext: { projectUuid: demo().projectUuid, virtualIDUuid: alice().uuid },
      ticketType: { name: 'CREATE_VM_INSTANCE_TICKET_TYPE' },
      // sequence: ZStack's one AUTO_INCREMENT counter for the whole history table (not 1 per ticket).
      history: [{ toStatus: 'PENDING', sequence: expect.any(Number) }],
    });
    const [post] = writes();
    expect(writes()).toHaveLength(1);
    expect(post?.method).toBe('POST');
    expect(post?.path).toBe('/zstack/v1/tickets');
    expect(post?.headers.authorization).toBe(`OAuth ${s.alice}`);
    expect(JSON.parse(post?.body ?? '')).toEqual({
      params: {
        name: 'a new vm',
        description: 'for the demo',
        requests: [REQUEST],
        accountSystemType: 'iam2',
        accountSystemContext: { projectUuid: demo().projectUuid, virtualIDUuid: alice().uuid },
      },
    });

    const uuid = created.ticket.uuid as string;
    const one = await h.gql<Any>(APPROVE, { uuid, comment: 'lead ok' }, { session: s.carol });
    expect(one.data.changeTicketStatus.ticket.status).toBe('INTERMEDIATE_APPROVED');
    const two = await h.gql<Any>(APPROVE, { uuid, comment: 'ops ok' }, { session: s.dave });
    expect(two.data.changeTicketStatus.ticket.status).toBe('FINAL_APPROVED');

    const read = await h.gql<Any>(
      `query($uuid: ID!) { ticket(uuid: $uuid) { status history {
        ticketUuid fromStatus toStatus comment operatorType operatorUuid flowName sequence operationContextType operationContext
      } } }`,
      { uuid },
      { session: s.alice },
    );
    expect(read.errors).toBeUndefined();
    const { approvers } = demo();
    expect(read.data.ticket.status).toBe('FINAL_APPROVED');
    expect(read.data.ticket.history).toMatchObject([
      // fromStatus is NOT NULL in ZStack; the simulator writes the creation row as Pending → Pending.
      { ticketUuid: uuid, fromStatus: 'PENDING', toStatus: 'PENDING', operatorUuid: alice().uuid },
      {
        fromStatus: 'PENDING',
        toStatus: 'INTERMEDIATE_APPROVED',
        comment: 'lead ok',
        operatorType: 'IAM2VirtualID',
        operatorUuid: approvers[0]?.uuid,
        flowName: 'team-lead-approval',
        operationContextType: 'StatusChanged',
      },
      {
        fromStatus: 'INTERMEDIATE_APPROVED',
        toStatus: 'FINAL_APPROVED',
        comment: 'ops ok',
        operatorUuid: approvers[1]?.uuid,
        flowName: 'operations-approval',
        operationContext: {
          requestResults: [{ requestName: 'create vm', successTimes: 1, failureTimes: 0 }],
        },
      },
    ]);
    // One table-wide counter: later changes have larger numbers, with no promise of 1, 2, 3.
    const seqs: number[] = read.data.ticket.history.map((x: Any) => x.sequence as number);
    expect(seqs[0]).toBeGreaterThan(1);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
  });
});

describe('updateTicketRequest and deleteTicket', () => {
  const UPDATE = `mutation($input: UpdateTicketRequestInput!) { updateTicketRequest(input: $input) {
    clientMutationId ticket { uuid description status request { requestName apiName executeTimes apiBody } } } }`;
  const DELETE = `mutation($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketUuid clientMutationId } }`;

  it('updateTicketRequest sends one PUT with the updateTicketRequest action and returns the ticket', async () => {
    const uuid = await create();
    const requests = [
      { requestName: 'smaller vm', apiName: REQUEST.apiName, executeTimes: 2, apiBody: { cpuNum: 1 } },
    ];
    const res = await h.gql<Any>(
      UPDATE,
      {
        input: {
          uuid: uuid.toUpperCase(),
          requests,
          description: 'smaller',
          userTags: ['t1'],
          clientMutationId: 'u1',
        },
      },
      { session: s.alice },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.updateTicketRequest).toEqual({
      clientMutationId: 'u1',
      ticket: { uuid, description: 'smaller', status: 'PENDING', request: requests },
    });
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'PUT', path: `/zstack/v1/tickets/${uuid}/actions` });
    expect(writes()[0]?.headers.authorization).toBe(`OAuth ${s.alice}`);
    expect(JSON.parse(writes()[0]?.body ?? '')).toEqual({
      updateTicketRequest: { requests, description: 'smaller' },
      userTags: ['t1'],
    });
  });

  it('deleteTicket sends one DELETE ?deleteMode=Permissive; the ticket is then gone', async () => {
    const uuid = await create();
    const res = await h.gql<Any>(DELETE, { input: { uuid, clientMutationId: 'd1' } }, { session: s.alice });
    expect(res.errors).toBeUndefined();
    expect(res.data.deleteTicket).toEqual({ deletedTicketUuid: uuid, clientMutationId: 'd1' });
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({
      method: 'DELETE',
      path: `/zstack/v1/tickets/${uuid}`,
      query: 'deleteMode=Permissive',
      headers: expect.objectContaining({ authorization: `OAuth ${s.alice}` }),
    });
    const after = await h.gql<Any>(`{ ticket(uuid: "${uuid}") { uuid } }`, {}, { session: admin });
    expect(after.data.ticket).toBeNull();
  });

  it("ZStack's refusal comes back as a coded error with the job uuid", async () => {
    const uuid = await create();
    const res = await h.gql<Any>(DELETE, { input: { uuid } }, { session: s.bob });
    expect(res.data).toEqual({ deleteTicket: null });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      zstack: { code: 'ID.1002' },
      jobUuid: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(writes()).toHaveLength(1);
  });

  const uuid = 'a'.repeat(32);
  it.each([
    ['create: no requests', CREATE, () => ({ input: createInput({ requests: [] }) })],
    ['create: a name over 255', CREATE, () => ({ input: createInput({ name: 'n'.repeat(256) }) })],
    [
      'create: a description over 2048',
      CREATE,
      () => ({ input: createInput({ description: 'd'.repeat(2049) }) }),
    ],
    [
      'create: a bad flowCollectionUuid',
      CREATE,
      () => ({ input: createInput({ flowCollectionUuid: 'nope' }) }),
    ],
    ['create: an empty system tag', CREATE, () => ({ input: createInput({ systemTags: [''] }) })],
    [
      'create: executeTimes 0',
      CREATE,
      () => ({ input: createInput({ requests: [{ ...REQUEST, executeTimes: 0 }] }) }),
    ],
    [
      'create: an apiBody that is no object',
      CREATE,
      () => ({ input: createInput({ requests: [{ ...REQUEST, apiBody: [1] }] }) }),
    ],
    [
      'create: an accountSystemContext that is no object',
      CREATE,
      () => ({ input: createInput({ accountSystemContext: 'x' }) }),
    ],
    ['update: a bad uuid', UPDATE, () => ({ input: { uuid: 'abc', requests: [REQUEST] } })],
    ['update: no requests', UPDATE, () => ({ input: { uuid, requests: [] } })],
    [
      'update: a description over 2048',
      UPDATE,
      () => ({ input: { uuid, requests: [REQUEST], description: 'd'.repeat(2049) } }),
    ],
    ['update: an empty user tag', UPDATE, () => ({ input: { uuid, requests: [REQUEST], userTags: [''] } })],
    ['delete: a path trick', DELETE, () => ({ input: { uuid: '../../accounts/sessions/x' } })],
  ])('%s is BAD_USER_INPUT with no upstream call', async (_name, query, variables) => {
    const res = await h.gql<Any>(query, variables(), { session: s.alice });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it.each([
    ['createTicket', CREATE, () => ({ input: createInput() })],
    ['updateTicketRequest', UPDATE, () => ({ input: { uuid, requests: [REQUEST] } })],
    ['deleteTicket', DELETE, () => ({ input: { uuid } })],
  ])('%s without a session is UNAUTHENTICATED with no upstream call', async (_name, query, variables) => {
    const res = await h.gql<Any>(query, variables());
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });
});
