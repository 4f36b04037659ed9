/** The records the World holds and the helpers its rules share: identities, actors, ZStack uuids, refusals. */
import { createHash } from 'node:crypto';
import { ApiError, type ErrorCodeBody } from './render.js';

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

export interface TicketMeta {
  submitterUuid: string;
  accountUuid: string;
}

export function fail(code: string, details: string): never {
  throw new ApiError(code, details);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mandatory(field: string, msg: string): never {
  fail('SYS.1007', `field[${field}] of message[${msg}] is mandatory, can not be null`);
}

export function maxLength(field: string, msg: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) {
    fail(
      'SYS.1007',
      `field[${field}] of message[${msg}] exceeds max length of string. expected was <= ${max}, actual was ${value.length}`,
    );
  }
}

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
