/**
 * The in-memory ZStack: identities, flow collections, ticket types, tickets and their histories,
 * with the status machine and permissions of protocol section 10.1.
 */
import { createHash } from 'node:crypto';
import type { QuerySchema, Row } from './query.js';
import { ApiError, type ErrorCodeBody } from './render.js';
import type { Principal } from './sessions.js';

export const TICKET_STATUSES = [
  'Pending',
  'IntermediateApproved',
  'FinalApproved',
  'Rejected',
  'Cancelled',
] as const;
export const STATUS_EVENTS = ['open', 'approve', 'cancel', 'reject', 'reopen'] as const;
export type StatusEvent = (typeof STATUS_EVENTS)[number];

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

const s = 'string' as const;
const d = 'date' as const;
const j = 'json' as const;

export const FLOW_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.iam2.entity.IAM2TicketFlowInventory',
  fields: {
    uuid: s,
    name: s,
    description: s,
    parentFlowUuid: s,
    flowContext: s,
    flowContextType: s,
    collectionUuid: s,
    approverUuid: s,
    valid: 'bool',
    createDate: d,
    lastOpDate: d,
  },
};

export const FLOW_COLLECTION_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.iam2.entity.IAM2TicketFlowCollectionInventory',
  fields: {
    uuid: s,
    name: s,
    description: s,
    state: s,
    status: s,
    isDefault: 'bool',
    flows: { nested: FLOW_SCHEMA },
    ticketTypeUuids: s,
    projectUuid: s,
    createDate: d,
    lastOpDate: d,
  },
};

export const TICKET_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.entity.TicketInventory',
  fields: {
    uuid: s,
    name: s,
    description: s,
    status: s,
    request: j,
    accountSystemType: s,
    ticketTypeUuid: s,
    accountSystemContext: j,
    currentFlowUuid: s,
    flowCollectionUuid: s,
    createDate: d,
    lastOpDate: d,
  },
};

export const HISTORY_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.entity.TicketStatusHistoryInventory',
  fields: {
    uuid: s,
    ticketUuid: s,
    fromStatus: s,
    toStatus: s,
    comment: s,
    operationContextType: s,
    operationContext: j,
    operatorType: s,
    operatorUuid: s,
    flowName: s,
    sequence: 'int',
    createDate: d,
    lastOpDate: d,
  },
};

export const ARCHIVE_TICKET_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.entity.ArchiveTicketInventory',
  fields: { ...TICKET_SCHEMA.fields, ticketUuid: s, accountUuid: s },
};

export const ARCHIVE_HISTORY_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.entity.ArchiveTicketStatusHistoryInventory',
  fields: { ...HISTORY_SCHEMA.fields, historyUuid: s, accountUuid: s },
};

export const TICKET_TYPE_SCHEMA: QuerySchema = {
  className: 'org.zstack.ticket.entity.TicketTypeInventory',
  fields: {
    uuid: s,
    name: s,
    description: s,
    type: s,
    requests: s,
    adminOnly: 'bool',
    createDate: d,
    lastOpDate: d,
  },
};

/**
 * An IAM2 flow as the wire has it: `valid` is a primitive boolean in ZStack's SDK, so it is always
 * sent (true unless a flow says otherwise).
 */
function flowRow(flow: Row): Row {
  return { ...flow, valid: flow.valid !== false };
}

export function sha512Hex(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}

export interface Account {
  uuid: string;
  name: string;
  passwordHash: string;
  admin: boolean;
}
export interface User {
  uuid: string;
  name: string;
  accountUuid: string;
  passwordHash: string;
}
export interface VirtualId {
  uuid: string;
  name: string;
  passwordHash: string;
  /** The project's linked account: what a virtual-ID session carries as accountUuid. */
  accountUuid: string;
}

/** Who acts, as the ticket rules see it. */
export interface Actor {
  kind: 'admin' | 'account' | 'user' | 'virtualId';
  uuid: string;
  accountUuid: string;
}

interface TicketMeta {
  submitterUuid: string;
  accountUuid: string;
}

function fail(code: string, details: string): never {
  throw new ApiError(code, details);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mandatory(field: string, msg: string): never {
  fail('SYS.1007', `field[${field}] of message[${msg}] is mandatory, can not be null`);
}

function maxLength(field: string, msg: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) {
    fail(
      'SYS.1007',
      `field[${field}] of message[${msg}] exceeds max length of string. expected was <= ${max}, actual was ${value.length}`,
    );
  }
}

const CREATE_VM = 'org.zstack.header.vm.APICreateVmInstanceMsg';

/** The biggest host of the simulated cloud: a VM asking for more cannot be placed anywhere. */
const LARGEST_HOST = { cpuNum: 64, memorySize: 256 * 2 ** 30 };

/** An injected failure of the APIs a final approval executes (`controls.injectRequestFailure`). */
export interface RequestFailure {
  /** Only requests for this API (a Java message class name); any when absent. */
  apiName?: string;
  /** Only this ticket's requests; any when absent. */
  ticketUuid?: string;
  /** The failing API's own ErrorCode: it becomes the `cause` of the ChangeTicketStatus job's error. */
  error: ErrorCodeBody;
  remaining: number;
}

const ZSTACK_UUID = /^[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}$/;

/** A row of ZStack's ResourceVO for a resource the simulator has no table of (projects, images…). */
export interface NamedResource {
  uuid: string;
  /** ZStack allows resources without a name. */
  name?: string;
  /** The base VO class's simple name, e.g. ImageVO. */
  type: string;
}

/**
 * ResourceVO.concreteResourceType: the Java class of the row (`getClass().getName()` in
 * ResourceVO.prePersist), NOT NULL. Classes of the closed-source ticket and IAM2 modules are INFERRED
 * from their SDK inventories' packages.
 */
const CONCRETE_TYPES: Record<string, string> = {
  AccountVO: 'org.zstack.header.identity.AccountVO',
  UserVO: 'org.zstack.header.identity.UserVO',
  ImageVO: 'org.zstack.header.image.ImageVO',
  InstanceOfferingVO: 'org.zstack.header.configuration.InstanceOfferingVO',
  DiskOfferingVO: 'org.zstack.header.configuration.DiskOfferingVO',
  L3NetworkVO: 'org.zstack.header.network.l3.L3NetworkVO',
  VmInstanceVO: 'org.zstack.header.vm.VmInstanceVO',
  IAM2VirtualIDVO: 'org.zstack.iam2.entity.IAM2VirtualIDVO',
  IAM2ProjectVO: 'org.zstack.iam2.entity.IAM2ProjectVO',
  TicketVO: 'org.zstack.ticket.entity.TicketVO',
  TicketStatusHistoryVO: 'org.zstack.ticket.entity.TicketStatusHistoryVO',
  TicketTypeVO: 'org.zstack.ticket.entity.TicketTypeVO',
  TicketFlowCollectionVO: 'org.zstack.ticket.iam2.entity.IAM2TicketFlowCollectionVO',
  TicketFlowVO: 'org.zstack.ticket.iam2.entity.IAM2TicketFlowVO',
};

export function concreteResourceType(type: string): string {
  return CONCRETE_TYPES[type] ?? `org.zstack.header.${type}`;
}

/** Deterministic, ZStack-shaped (v4, no dashes) uuid from a seed text. */
export function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 12)}4${h.slice(13, 16)}${variant}${h.slice(17, 32)}`;
}

export class World {
  accounts = new Map<string, Account>();
  users = new Map<string, User>();
  virtualIds = new Map<string, VirtualId>();
  flowCollections = new Map<string, Row>();
  flows = new Map<string, Row>();
  ticketTypes = new Map<string, Row>();
  tickets = new Map<string, Row>();
  histories = new Map<string, Row>();
  archives = new Map<string, Row>();
  archiveHistories = new Map<string, Row>();
  /** ResourceVO rows of everything without a table here: IAM2 projects, images, offerings, networks, VMs. */
  resources = new Map<string, NamedResource>();
  /** Matched in order; each execution a rule fails uses up one of its `remaining`. */
  requestFailures: RequestFailure[] = [];
  private meta = new Map<string, TicketMeta>();
  private counter = 0;
  /**
   * TicketStatusHistoryVO.sequence is `INT AUTO_INCREMENT UNIQUE` (V4.0.0 migration): one counter for
   * the whole table, not a position within one ticket.
   */
  private historySequence = 0;
  /** Seeding swaps in a fixed clock so the demo data is the same on every run. */
  clock: () => number = () => Date.now();

  /** Deterministic, ZStack-shaped (v4, no dashes) uuids: same sequence after every reset. */
  nextUuid(): string {
    return uuidFrom(`zstack-simulator:${this.counter++}`);
  }

  /** ResourceVO's row for a uuid (GetResourceNames); undefined when no resource has it. */
  private resourceRow(uuid: string): NamedResource | undefined {
    const account = this.accounts.get(uuid);
    if (account) return { uuid, name: account.name, type: 'AccountVO' };
    const user = this.users.get(uuid);
    if (user) return { uuid, name: user.name, type: 'UserVO' };
    const vid = this.virtualIds.get(uuid);
    if (vid) return { uuid, name: vid.name, type: 'IAM2VirtualIDVO' };
    const ticket = this.tickets.get(uuid);
    if (ticket) return { uuid, name: ticket.name as string, type: 'TicketVO' };
    // History rows are resources too (V3.1.1 lists TicketStatusHistoryVO among ResourceVO's tables); they have no name.
    if (this.histories.has(uuid)) return { uuid, type: 'TicketStatusHistoryVO' };
    const collection = this.flowCollections.get(uuid);
    if (collection) return { uuid, name: collection.name as string, type: 'TicketFlowCollectionVO' };
    const flow = this.flows.get(uuid);
    if (flow) return { uuid, name: flow.name as string, type: 'TicketFlowVO' };
    const type = this.ticketTypes.get(uuid);
    if (type) return { uuid, name: type.name as string, type: 'TicketTypeVO' };
    return this.resources.get(uuid);
  }

  /**
   * GetResourceNames: `select … from ResourceVO where uuid in (:uuids)`. Unknown uuids are absent and
   * the order is the table's (here: by uuid), not the request's.
   */
  resourceNames(uuids: readonly string[]): Row[] {
    const rows: Row[] = [];
    // MySQL's default collation compares case-insensitively.
    for (const uuid of new Set(uuids.map((u) => u.toLowerCase()))) {
      const row = this.resourceRow(uuid);
      if (row) {
        rows.push({
          uuid: row.uuid,
          resourceName: row.name,
          resourceType: row.type,
          concreteResourceType: concreteResourceType(row.type),
        });
      }
    }
    return rows.sort((a, b) => ((a.uuid as string) < (b.uuid as string) ? -1 : 1));
  }

  actorOf(p: Principal): Actor {
    if (p.kind === 'account') {
      const acc = this.accounts.get(p.uuid);
      return { kind: acc?.admin ? 'admin' : 'account', uuid: p.uuid, accountUuid: p.uuid };
    }
    return { kind: p.kind, uuid: p.uuid, accountUuid: p.accountUuid };
  }

  /** Resolves a uuid of an account, user or virtual ID to an actor (for in-process controls). */
  actorByUuid(uuid: string): Actor | undefined {
    const acc = this.accounts.get(uuid);
    if (acc) return this.actorOf({ kind: 'account', uuid });
    const user = this.users.get(uuid);
    if (user) return { kind: 'user', uuid, accountUuid: user.accountUuid };
    const vid = this.virtualIds.get(uuid);
    if (vid) return { kind: 'virtualId', uuid, accountUuid: vid.accountUuid };
    return undefined;
  }

  // ---- flows ----

  /** A collection's flows in chain order (each flow's parent is the one before it). */
  flowsOf(collectionUuid: string): Row[] {
    const all = [...this.flows.values()].filter((f) => f.collectionUuid === collectionUuid);
    const ordered: Row[] = [];
    let parent: unknown;
    for (;;) {
      const next = all.find((f) => f.parentFlowUuid === parent && !ordered.includes(f));
      if (!next) break;
      ordered.push(next);
      parent = next.uuid;
    }
    return ordered;
  }

  flowCollectionRows(): Row[] {
    return [...this.flowCollections.values()].map((c) => ({
      ...c,
      flows: this.flowsOf(c.uuid as string).map(flowRow),
    }));
  }

  flowRows(): Row[] {
    return [...this.flows.values()].map(flowRow);
  }

  // ---- tickets ----

  ticketRows(): Row[] {
    return [...this.tickets.values()];
  }

  historyRows(ticketUuid?: string): Row[] {
    const rows = [...this.histories.values()];
    return ticketUuid === undefined ? rows : rows.filter((h) => h.ticketUuid === ticketUuid);
  }

  private ticketOr1003(uuid: string): Row {
    const t = this.tickets.get(uuid);
    if (!t) fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketVO] not found`);
    return t;
  }

  private requireSubmitterOrAdmin(ticket: Row, actor: Actor, what: string): void {
    const meta = this.meta.get(ticket.uuid as string);
    if (actor.kind === 'admin' || meta?.submitterUuid === actor.uuid) return;
    fail(
      'ID.1002',
      `operation denied. Only the submitter of the ticket[uuid:${ticket.uuid as string}] or an admin can ${what} it, ${actor.uuid} is neither`,
    );
  }

  private appendHistory(
    ticket: Row,
    from: string,
    to: string,
    actor: Actor,
    flowName: unknown,
    comment: unknown,
    context: Record<string, unknown>,
  ): Row {
    const now = this.clock();
    this.historySequence += 1;
    const sequence = this.historySequence;
    const row: Row = {
      uuid: this.nextUuid(),
      ticketUuid: ticket.uuid,
      fromStatus: from,
      toStatus: to,
      comment: typeof comment === 'string' ? comment : undefined,
      operationContextType: 'StatusChanged',
      operationContext: context,
      operatorType: actor.kind === 'virtualId' ? 'IAM2VirtualID' : 'Account',
      operatorUuid: actor.uuid,
      flowName,
      sequence,
      createDate: now,
      lastOpDate: now,
    };
    this.histories.set(row.uuid as string, row);
    return row;
  }

  private validateRequests(requests: unknown, msg: string): Record<string, unknown>[] {
    if (requests === undefined || requests === null) mandatory('requests', msg);
    if (!Array.isArray(requests) || requests.length === 0) {
      fail('SYS.1007', `field[requests] of message[${msg}] must be a nonempty list`);
    }
    return requests.filter(isObject);
  }

  private ticketTypeFor(requests: Record<string, unknown>[]): Row | undefined {
    const apiName = requests[0]?.apiName;
    if (typeof apiName !== 'string') return undefined;
    return [...this.ticketTypes.values()].find((t) =>
      String(t.requests ?? '')
        .split(',')
        .map((x) => x.trim())
        .includes(apiName),
    );
  }

  createTicket(params: Record<string, unknown>, actor: Actor): Row {
    const { name, description, accountSystemType, accountSystemContext, flowCollectionUuid, resourceUuid } =
      params;
    if (name === undefined || name === null) mandatory('name', MSG_CREATE);
    maxLength('name', MSG_CREATE, name, 255);
    maxLength('description', MSG_CREATE, description, 2048);
    const requests = this.validateRequests(params.requests, MSG_CREATE);
    if (accountSystemType === undefined || accountSystemType === null)
      mandatory('accountSystemType', MSG_CREATE);
    if (!isObject(accountSystemContext)) mandatory('accountSystemContext', MSG_CREATE);
    if (resourceUuid !== undefined && resourceUuid !== null) {
      if (typeof resourceUuid !== 'string' || !ZSTACK_UUID.test(resourceUuid)) {
        fail('SYS.1007', `resourceUuid[${String(resourceUuid)}] is not a valid uuid`);
      }
      if (this.tickets.has(resourceUuid)) fail('SYS.1007', `resourceUuid[${resourceUuid}] has been occupied`);
    }
    let collection: Row | undefined;
    if (flowCollectionUuid !== undefined && flowCollectionUuid !== null) {
      collection = this.flowCollections.get(String(flowCollectionUuid));
      if (!collection) {
        fail(
          'SYS.1003',
          `invalid field[flowCollectionUuid], resource[uuid:${String(flowCollectionUuid)}, type:TicketFlowCollectionVO] not found`,
        );
      }
    } else {
      collection = [...this.flowCollections.values()].find((c) => c.isDefault === true);
      if (!collection)
        fail('SYS.1006', 'no default ticket flow collection found, specify flowCollectionUuid');
    }
    if (collection.state !== 'Enabled') {
      fail('SYS.1006', `ticket flow collection[uuid:${collection.uuid as string}] is disabled`);
    }
    const flows = this.flowsOf(collection.uuid as string);
    const first = flows[0];
    if (!first) fail('SYS.1006', `ticket flow collection[uuid:${collection.uuid as string}] has no flow`);
    const type = this.ticketTypeFor(requests);
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
    const now = this.clock();
    const ticket: Row = {
      uuid: typeof resourceUuid === 'string' ? resourceUuid : this.nextUuid(),
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
    this.tickets.set(ticket.uuid as string, ticket);
    this.meta.set(ticket.uuid as string, { submitterUuid: actor.uuid, accountUuid: actor.accountUuid });
    // fromStatus is NOT NULL (V2.4.0 migration). The closed-source module's value for the creation
    // row is unknown; the simulator writes Pending → Pending (the implicit open).
    this.appendHistory(ticket, 'Pending', 'Pending', actor, first.name, undefined, {});
    return ticket;
  }

  changeStatus(uuid: string, params: Record<string, unknown>, actor: Actor): Row {
    const { statusEvent, comment } = params;
    if (statusEvent === undefined || statusEvent === null) mandatory('statusEvent', MSG_CHANGE);
    if (typeof statusEvent !== 'string' || !(STATUS_EVENTS as readonly string[]).includes(statusEvent)) {
      fail(
        'SYS.1007',
        `valid value for field[statusEvent] of message[${MSG_CHANGE}] are [${STATUS_EVENTS.join(', ')}], but ${String(statusEvent)} found`,
      );
    }
    maxLength('comment', MSG_CHANGE, comment, 65535);
    const ticket = this.ticketOr1003(uuid);
    const event = statusEvent as StatusEvent;
    const from = String(ticket.status);
    if (!LEGAL_FROM[event].includes(from)) {
      fail('SYS.1006', `ticket[uuid:${uuid}] cannot change status from ${from} by event ${event}`);
    }
    const flows = this.flowsOf(ticket.flowCollectionUuid as string);
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
      this.requireSubmitterOrAdmin(ticket, actor, event);
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
          this.executeRequests(ticket, requests);
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
    ticket.lastOpDate = this.clock();
    this.appendHistory(ticket, from, to, actor, current?.name, comment, context);
    return ticket;
  }

  /**
   * A final approval runs each request's API `executeTimes` times. The first failure fails the
   * approval the way ZStack reports a failed call made on someone's behalf: SYS.1006 naming the
   * request, with the API's own ErrorCode as its `cause`.
   */
  private executeRequests(ticket: Row, requests: Record<string, unknown>[]): void {
    for (const request of requests) {
      const times =
        typeof request.executeTimes === 'number' && request.executeTimes > 0 ? request.executeTimes : 1;
      for (let i = 0; i < times; i++) {
        const cause = this.injectedFailure(ticket, request) ?? this.backendFailure(request);
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

  private injectedFailure(ticket: Row, request: Record<string, unknown>): ErrorCodeBody | undefined {
    const i = this.requestFailures.findIndex(
      (f) =>
        (f.apiName === undefined || f.apiName === request.apiName) &&
        (f.ticketUuid === undefined || f.ticketUuid === ticket.uuid),
    );
    const rule = this.requestFailures[i];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.requestFailures.splice(i, 1);
    return { ...rule.error };
  }

  /** What the simulated cloud itself refuses: a VM bigger than its largest host. */
  private backendFailure(request: Record<string, unknown>): ErrorCodeBody | undefined {
    if (request.apiName !== CREATE_VM || !isObject(request.apiBody)) return undefined;
    const cpuNum = Number(request.apiBody.cpuNum ?? 0);
    const memorySize = Number(request.apiBody.memorySize ?? 0);
    if (cpuNum <= LARGEST_HOST.cpuNum && memorySize <= LARGEST_HOST.memorySize) return undefined;
    return new ApiError(
      'HOST_ALLOCATION.1000',
      `no host found with ${cpuNum} free CPUs and ${memorySize} bytes of free memory; the largest host has ${LARGEST_HOST.cpuNum} CPUs and ${LARGEST_HOST.memorySize} bytes`,
    ).errorCode;
  }

  updateRequest(uuid: string, params: Record<string, unknown>, actor: Actor): Row {
    const requests = this.validateRequests(params.requests, MSG_UPDATE);
    maxLength('description', MSG_UPDATE, params.description, 2048);
    const ticket = this.ticketOr1003(uuid);
    const status = String(ticket.status);
    if (!UPDATABLE_IN.includes(status)) {
      fail('SYS.1006', `ticket[uuid:${uuid}] cannot update its requests in status ${status}`);
    }
    this.requireSubmitterOrAdmin(ticket, actor, 'update');
    ticket.request = requests;
    if (typeof params.description === 'string') ticket.description = params.description;
    ticket.lastOpDate = this.clock();
    return ticket;
  }

  /** Deleting moves the ticket and its history to the archive tables. */
  deleteTicket(uuid: string, actor: Actor): void {
    const ticket = this.ticketOr1003(uuid);
    this.requireSubmitterOrAdmin(ticket, actor, 'delete');
    const meta = this.meta.get(uuid);
    const archive: Row = {
      ...ticket,
      uuid: this.nextUuid(),
      ticketUuid: uuid,
      accountUuid: meta?.accountUuid,
    };
    this.archives.set(archive.uuid as string, archive);
    for (const h of this.historyRows(uuid)) {
      const archived: Row = {
        ...h,
        uuid: this.nextUuid(),
        historyUuid: h.uuid,
        accountUuid: meta?.accountUuid,
      };
      this.archiveHistories.set(archived.uuid as string, archived);
      this.histories.delete(h.uuid as string);
    }
    this.tickets.delete(uuid);
    this.meta.delete(uuid);
  }

  // ---- flow and flow-collection writes (F2, F4, F8, F10) ----

  private requireAdmin(actor: Actor, what: string): void {
    if (actor.kind !== 'admin') {
      fail('ID.1002', `operation denied. Only an admin can ${what}, ${actor.uuid} is not one`);
    }
  }

  private newFlow(
    params: Record<string, unknown>,
    collectionUuid: string,
    parent: unknown,
    msg: string,
  ): Row {
    const approverUuid = params.approverUuid;
    if (typeof approverUuid !== 'string') mandatory('approverUuid', msg);
    if (!this.virtualIds.has(approverUuid)) {
      fail(
        'SYS.1003',
        `invalid field[approverUuid], resource[uuid:${approverUuid}, type:IAM2VirtualIDVO] not found`,
      );
    }
    maxLength('name', msg, params.name, 255);
    maxLength('description', msg, params.description, 2048);
    const now = this.clock();
    const uuid = this.nextUuid();
    return {
      uuid,
      name: typeof params.name === 'string' ? params.name : undefined,
      description: typeof params.description === 'string' ? params.description : undefined,
      parentFlowUuid: typeof parent === 'string' ? parent : undefined,
      flowContext: JSON.stringify({ approverUuid }),
      flowContextType: 'IAM2',
      collectionUuid,
      approverUuid,
      valid: true,
      createDate: now,
      lastOpDate: now,
    };
  }

  /** CreateIAM2TicketFlowCollection: the collection and its flows, chained in the order given. */
  createFlowCollection(params: Record<string, unknown>, actor: Actor): Row {
    const msg = 'org.zstack.ticket.iam2.api.APICreateIAM2TicketFlowCollectionMsg';
    if (typeof params.name !== 'string') mandatory('name', msg);
    if (typeof params.projectUuid !== 'string') mandatory('projectUuid', msg);
    maxLength('name', msg, params.name, 255);
    maxLength('description', msg, params.description, 2048);
    this.requireAdmin(actor, 'create a ticket flow collection');
    const flows = Array.isArray(params.flows) ? params.flows.filter(isObject) : [];
    const now = this.clock();
    const uuid = this.nextUuid();
    const rows: Row[] = [];
    let parent: unknown;
    for (const f of flows) {
      const row = this.newFlow(f, uuid, parent, msg);
      rows.push(row);
      parent = row.uuid;
    }
    const collection: Row = {
      uuid,
      name: params.name,
      description: typeof params.description === 'string' ? params.description : undefined,
      state: 'Enabled',
      status: 'Valid',
      isDefault: params.isDefault === true,
      ticketTypeUuids: Array.isArray(params.ticketTypeUuids) ? params.ticketTypeUuids.map(String) : [],
      projectUuid: params.projectUuid,
      createDate: now,
      lastOpDate: now,
    };
    if (collection.isDefault === true) for (const c of this.flowCollections.values()) c.isDefault = false;
    this.flowCollections.set(uuid, collection);
    for (const r of rows) this.flows.set(r.uuid as string, r);
    return { ...collection, flows: this.flowsOf(uuid).map(flowRow) };
  }

  private collectionInUse(uuid: string): boolean {
    return [...this.tickets.values()].some(
      (t) => t.flowCollectionUuid === uuid && t.status !== 'FinalApproved',
    );
  }

  /** DeleteTicketFlowCollection: refused while an unfinished ticket goes through it. */
  deleteFlowCollection(uuid: string, actor: Actor): void {
    if (!this.flowCollections.has(uuid)) {
      fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketFlowCollectionVO] not found`);
    }
    this.requireAdmin(actor, 'delete a ticket flow collection');
    if (this.collectionInUse(uuid)) {
      fail('SYS.1006', `ticket flow collection[uuid:${uuid}] is used by unfinished tickets`);
    }
    for (const f of this.flowsOf(uuid)) this.flows.delete(f.uuid as string);
    this.flowCollections.delete(uuid);
  }

  /** AddIAM2TicketFlow: appended after `parentFlowUuid` (default: the last flow), the chain relinked. */
  addFlow(params: Record<string, unknown>, actor: Actor): Row {
    const msg = 'org.zstack.ticket.iam2.api.APIAddIAM2TicketFlowMsg';
    const collectionUuid = params.collectionUuid;
    if (typeof collectionUuid !== 'string') mandatory('collectionUuid', msg);
    if (!this.flowCollections.has(collectionUuid)) {
      fail(
        'SYS.1003',
        `invalid field[collectionUuid], resource[uuid:${collectionUuid}, type:TicketFlowCollectionVO] not found`,
      );
    }
    this.requireAdmin(actor, 'add a ticket flow');
    const chain = this.flowsOf(collectionUuid);
    const parent = typeof params.parentFlowUuid === 'string' ? params.parentFlowUuid : chain.at(-1)?.uuid;
    if (parent !== undefined && !chain.some((f) => f.uuid === parent)) {
      fail(
        'SYS.1003',
        `invalid field[parentFlowUuid], resource[uuid:${String(parent)}, type:TicketFlowVO] not found`,
      );
    }
    const row = this.newFlow(params, collectionUuid, parent, msg);
    const child = chain.find((f) => f.parentFlowUuid === parent);
    if (child) child.parentFlowUuid = row.uuid;
    this.flows.set(row.uuid as string, row);
    return flowRow(row);
  }

  /** DeleteTicketFlow: its child is relinked to its parent; refused while a ticket waits at it. */
  deleteFlow(uuid: string, actor: Actor): void {
    const flow = this.flows.get(uuid);
    if (!flow) fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketFlowVO] not found`);
    this.requireAdmin(actor, 'delete a ticket flow');
    if ([...this.tickets.values()].some((t) => t.currentFlowUuid === uuid && t.status !== 'FinalApproved')) {
      fail('SYS.1006', `ticket flow[uuid:${uuid}] is the current flow of unfinished tickets`);
    }
    for (const f of this.flows.values())
      if (f.parentFlowUuid === uuid) f.parentFlowUuid = flow.parentFlowUuid;
    this.flows.delete(uuid);
  }

  archiveRows(): Row[] {
    return [...this.archives.values()];
  }
}
