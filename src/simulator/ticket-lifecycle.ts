/** A ticket's life: creation, status events with their permission rules, request updates, and the final approval's execution. */
import type { Row } from './query.js';
import { type Actor, fail, isObject, mandatory, maxLength } from './records.js';
import { ApiError, type ErrorCodeBody } from './render.js';
import { STATUS_EVENTS, type StatusEvent } from './schemas.js';
import { appendHistory, archiveTicket } from './ticket-history.js';
import type { World } from './world.js';

/** From-statuses each event is legal in; `open` is only ever implicit (CreateTicket). */
const LEGAL_FROM: Record<StatusEvent, readonly string[]> = {
  open: [],
  approve: ['Pending', 'IntermediateApproved'],
  reject: ['Pending', 'IntermediateApproved'],
  cancel: ['Pending', 'IntermediateApproved', 'Rejected'],
  reopen: ['Rejected', 'Cancelled'],
};

const UPDATABLE_IN = ['Pending', 'Rejected', 'Cancelled'];

const MSG_CREATE = 'org.zstack.ticket.api.APICreateTicketMsg';
const MSG_CHANGE = 'org.zstack.ticket.api.APIChangeTicketStatusMsg';
const MSG_UPDATE = 'org.zstack.ticket.api.APIUpdateTicketRequestMsg';

const CREATE_VM = 'org.zstack.header.vm.APICreateVmInstanceMsg';

/** The biggest host of the simulated cloud: a VM asking for more cannot be placed anywhere. */
const LARGEST_HOST = { cpuNum: 64, memorySize: 256 * 2 ** 30 };

const ZSTACK_UUID = /^[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}$/;

function ticketOr1003(world: World, uuid: string): Row {
  const t = world.tickets.get(uuid);
  if (!t) fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketVO] not found`);
  return t;
}

function requireSubmitterOrAdmin(world: World, ticket: Row, actor: Actor, what: string): void {
  const meta = world.meta.get(ticket.uuid as string);
  if (actor.kind === 'admin' || meta?.submitterUuid === actor.uuid) return;
  fail(
    'ID.1002',
    `operation denied. Only the submitter of the ticket[uuid:${ticket.uuid as string}] or an admin can ${what} it, ${actor.uuid} is neither`,
  );
}

function validateRequests(requests: unknown, msg: string): Record<string, unknown>[] {
  if (requests === undefined || requests === null) mandatory('requests', msg);
  if (!Array.isArray(requests) || requests.length === 0) {
    fail('SYS.1007', `field[requests] of message[${msg}] must be a nonempty list`);
  }
  return requests.filter(isObject);
}

function ticketTypeFor(world: World, requests: Record<string, unknown>[]): Row | undefined {
  const apiName = requests[0]?.apiName;
  if (typeof apiName !== 'string') return undefined;
  return [...world.ticketTypes.values()].find((t) =>
    String(t.requests ?? '')
      .split(',')
      .map((x) => x.trim())
      .includes(apiName),
  );
}

export function createTicket(world: World, params: Record<string, unknown>, actor: Actor): Row {
  const { name, description, accountSystemType, accountSystemContext, flowCollectionUuid, resourceUuid } =
    params;
  if (name === undefined || name === null) mandatory('name', MSG_CREATE);
  maxLength('name', MSG_CREATE, name, 255);
  maxLength('description', MSG_CREATE, description, 2048);
  const requests = validateRequests(params.requests, MSG_CREATE);
  if (accountSystemType === undefined || accountSystemType === null)
    mandatory('accountSystemType', MSG_CREATE);
  if (!isObject(accountSystemContext)) mandatory('accountSystemContext', MSG_CREATE);
  if (resourceUuid !== undefined && resourceUuid !== null) {
    if (typeof resourceUuid !== 'string' || !ZSTACK_UUID.test(resourceUuid)) {
      fail('SYS.1007', `resourceUuid[${String(resourceUuid)}] is not a valid uuid`);
    }
    if (world.tickets.has(resourceUuid)) fail('SYS.1007', `resourceUuid[${resourceUuid}] has been occupied`);
  }
  let collection: Row | undefined;
  if (flowCollectionUuid !== undefined && flowCollectionUuid !== null) {
    collection = world.flowCollections.get(String(flowCollectionUuid));
    if (!collection) {
      fail(
        'SYS.1003',
        `invalid field[flowCollectionUuid], resource[uuid:${String(flowCollectionUuid)}, type:TicketFlowCollectionVO] not found`,
      );
    }
  } else {
    collection = [...world.flowCollections.values()].find((c) => c.isDefault === true);
    if (!collection) fail('SYS.1006', 'no default ticket flow collection found, specify flowCollectionUuid');
  }
  if (collection.state !== 'Enabled') {
    fail('SYS.1006', `ticket flow collection[uuid:${collection.uuid as string}] is disabled`);
  }
  const flows = world.flowsOf(collection.uuid as string);
  const first = flows[0];
  if (!first) fail('SYS.1006', `ticket flow collection[uuid:${collection.uuid as string}] has no flow`);
  const type = ticketTypeFor(world, requests);
  if (actor.kind !== 'admin') {
    if (type?.adminOnly === true) {
      fail('ID.1002', `operation denied. The ticket type[uuid:${type.uuid as string}] is admin only`);
    }
    const forWhom = accountSystemContext.virtualIDUuid;
    if (actor.kind === 'virtualId' && forWhom !== undefined && forWhom !== actor.uuid) {
      fail(
        'ID.1002',
        `operation denied. The virtual ID[uuid:${actor.uuid}] cannot submit a ticket for ${String(forWhom)}`,
      );
    }
  }
  const now = world.clock();
  const ticket: Row = {
    uuid: typeof resourceUuid === 'string' ? resourceUuid : world.nextUuid(),
    name: String(name),
    description: typeof description === 'string' ? description : undefined,
    status: 'Pending',
    request: requests,
    accountSystemType: String(accountSystemType),
    ticketTypeUuid: type?.uuid,
    accountSystemContext,
    currentFlowUuid: first.uuid,
    flowCollectionUuid: collection.uuid,
    createDate: now,
    lastOpDate: now,
  };
  world.tickets.set(ticket.uuid as string, ticket);
  world.meta.set(ticket.uuid as string, { submitterUuid: actor.uuid, accountUuid: actor.accountUuid });
  // fromStatus is NOT NULL (V2.4.0 migration). The closed-source module's value for the creation
  // row is unknown; the simulator writes Pending → Pending (the implicit open).
  appendHistory(world, ticket, 'Pending', 'Pending', actor, first.name, undefined, {});
  return ticket;
}

export function changeStatus(world: World, uuid: string, params: Record<string, unknown>, actor: Actor): Row {
  const { statusEvent, comment } = params;
  if (statusEvent === undefined || statusEvent === null) mandatory('statusEvent', MSG_CHANGE);
  if (typeof statusEvent !== 'string' || !(STATUS_EVENTS as readonly string[]).includes(statusEvent)) {
    fail(
      'SYS.1007',
      `valid value for field[statusEvent] of message[${MSG_CHANGE}] are [${STATUS_EVENTS.join(', ')}], but ${String(statusEvent)} found`,
    );
  }
  maxLength('comment', MSG_CHANGE, comment, 65535);
  const ticket = ticketOr1003(world, uuid);
  const event = statusEvent as StatusEvent;
  const from = String(ticket.status);
  if (!LEGAL_FROM[event].includes(from)) {
    fail('SYS.1006', `ticket[uuid:${uuid}] cannot change status from ${from} by event ${event}`);
  }
  const flows = world.flowsOf(ticket.flowCollectionUuid as string);
  const idx = flows.findIndex((f) => f.uuid === ticket.currentFlowUuid);
  const current = flows[idx];
  if (event === 'approve' || event === 'reject') {
    if (actor.kind !== 'admin' && current?.approverUuid !== actor.uuid) {
      fail(
        'ID.1002',
        `operation denied. The ticket[uuid:${uuid}] is not waiting for the approval of ${actor.uuid}`,
      );
    }
  } else {
    requireSubmitterOrAdmin(world, ticket, actor, event);
  }
  let to: string;
  let context: Record<string, unknown> = {};
  switch (event) {
    case 'approve': {
      const next = flows[idx + 1];
      if (next) {
        to = 'IntermediateApproved';
        ticket.currentFlowUuid = next.uuid;
      } else {
        to = 'FinalApproved';
        const requests = (Array.isArray(ticket.request) ? ticket.request : []) as Record<string, unknown>[];
        // Before any state changes: a request that fails leaves the ticket as it was.
        executeRequests(world, ticket, requests);
        context = {
          requestResults: requests.map((r) => ({
            requestName: r.requestName,
            successTimes: typeof r.executeTimes === 'number' ? r.executeTimes : 1,
            failureTimes: 0,
            errors: [],
          })),
        };
      }
      break;
    }
    case 'reject':
      to = 'Rejected';
      break;
    case 'cancel':
      to = 'Cancelled';
      break;
    default:
      to = 'Pending';
      ticket.currentFlowUuid = flows[0]?.uuid;
  }
  ticket.status = to;
  ticket.lastOpDate = world.clock();
  appendHistory(world, ticket, from, to, actor, current?.name, comment, context);
  return ticket;
}

/**
 * A final approval runs each request's API `executeTimes` times. The first failure fails the
 * approval the way ZStack reports a failed call made on someone's behalf: SYS.1006 naming the
 * request, with the API's own ErrorCode as its `cause`.
 */
function executeRequests(world: World, ticket: Row, requests: Record<string, unknown>[]): void {
  for (const request of requests) {
    const times =
      typeof request.executeTimes === 'number' && request.executeTimes > 0 ? request.executeTimes : 1;
    for (let i = 0; i < times; i++) {
      const cause = injectedFailure(world, ticket, request) ?? backendFailure(request);
      if (cause) {
        throw new ApiError(
          'SYS.1006',
          `failed to execute the request[name:${String(request.requestName)}, api:${String(request.apiName)}] of ticket[uuid:${ticket.uuid as string}]`,
          cause,
        );
      }
    }
  }
}

function injectedFailure(
  world: World,
  ticket: Row,
  request: Record<string, unknown>,
): ErrorCodeBody | undefined {
  const i = world.requestFailures.findIndex(
    (f) =>
      (f.apiName === undefined || f.apiName === request.apiName) &&
      (f.ticketUuid === undefined || f.ticketUuid === ticket.uuid),
  );
  const rule = world.requestFailures[i];
  if (!rule) return undefined;
  rule.remaining -= 1;
  if (rule.remaining <= 0) world.requestFailures.splice(i, 1);
  return { ...rule.error };
}

/** What the simulated cloud itself refuses: a VM bigger than its largest host. */
function backendFailure(request: Record<string, unknown>): ErrorCodeBody | undefined {
  if (request.apiName !== CREATE_VM || !isObject(request.apiBody)) return undefined;
  const cpuNum = Number(request.apiBody.cpuNum ?? 0);
  const memorySize = Number(request.apiBody.memorySize ?? 0);
  if (cpuNum <= LARGEST_HOST.cpuNum && memorySize <= LARGEST_HOST.memorySize) return undefined;
  return new ApiError(
    'HOST_ALLOCATION.1000',
    `no host found with ${cpuNum} free CPUs and ${memorySize} bytes of free memory; the largest host has ${LARGEST_HOST.cpuNum} CPUs and ${LARGEST_HOST.memorySize} bytes`,
  ).errorCode;
}

export function updateRequest(
  world: World,
  uuid: string,
  params: Record<string, unknown>,
  actor: Actor,
): Row {
  const requests = validateRequests(params.requests, MSG_UPDATE);
  maxLength('description', MSG_UPDATE, params.description, 2048);
  const ticket = ticketOr1003(world, uuid);
  const status = String(ticket.status);
  if (!UPDATABLE_IN.includes(status)) {
    fail('SYS.1006', `ticket[uuid:${uuid}] cannot update its requests in status ${status}`);
  }
  requireSubmitterOrAdmin(world, ticket, actor, 'update');
  ticket.request = requests;
  if (typeof params.description === 'string') ticket.description = params.description;
  ticket.lastOpDate = world.clock();
  return ticket;
}

/** Deleting moves the ticket and its history to the archive tables. */
export function deleteTicket(world: World, uuid: string, actor: Actor): void {
  const ticket = ticketOr1003(world, uuid);
  requireSubmitterOrAdmin(world, ticket, actor, 'delete');
  archiveTicket(world, ticket);
}
