/**
 * Shapes exactly as ZStack sends them: nulls omitted (so every field is optional),
 * dates as Java strings, free-form JSON as Gson renders it.
 */

export interface ApiErrorCode {
  code: string;
  description?: string;
  details?: string;
  elaboration?: string;
  location?: string;
  cost?: string;
  opaque?: Record<string, unknown>;
  cause?: ApiErrorCode;
  causes?: ApiErrorCode[];
  [extra: string]: unknown;
}

export interface ApiTicketRequest {
  requestName?: string;
  apiName?: string;
  executeTimes?: number;
  apiBody?: unknown;
}

export interface ApiTicket {
  uuid: string;
  name?: string;
  description?: string;
  status?: string;
  request?: ApiTicketRequest[];
  accountSystemType?: string;
  accountSystemContext?: Record<string, unknown>;
  ticketTypeUuid?: string;
  currentFlowUuid?: string;
  flowCollectionUuid?: string;
  createDate?: string;
  lastOpDate?: string;
}

export interface ApiTicketStatusHistory {
  uuid: string;
  ticketUuid?: string;
  fromStatus?: string;
  toStatus?: string;
  comment?: string;
  operationContextType?: string;
  operationContext?: unknown;
  operatorType?: string;
  operatorUuid?: string;
  flowName?: string;
  sequence?: number;
  createDate?: string;
  lastOpDate?: string;
}

/** ArchiveTicketInventory: a deleted ticket; `uuid` is the archive row's, `ticketUuid` the ticket's. */
export interface ApiArchiveTicket extends ApiTicket {
  ticketUuid?: string;
  accountUuid?: string;
}

/** ArchiveTicketStatusHistoryInventory; `historyUuid` is the live row's former uuid. */
export interface ApiArchiveTicketStatusHistory extends ApiTicketStatusHistory {
  historyUuid?: string;
  accountUuid?: string;
}

/** One row of GetResourceNames (ZStack's ResourceVO). */
export interface ApiResourceName {
  uuid: string;
  resourceName?: string;
  /** The base VO class's simple name, e.g. ImageVO. */
  resourceType?: string;
}

export interface ApiTicketType {
  uuid: string;
  name?: string;
  description?: string;
  type?: string;
  requests?: string;
  adminOnly?: boolean;
  createDate?: string;
  lastOpDate?: string;
}

export interface ApiTicketFlow {
  uuid: string;
  name?: string;
  description?: string;
  parentFlowUuid?: string;
  flowContext?: string;
  flowContextType?: string;
  collectionUuid?: string;
  approverUuid?: string;
  /** IAM2 flows: a primitive boolean in ZStack's SDK, so always sent. */
  valid?: boolean;
  createDate?: string;
  lastOpDate?: string;
}

export interface ApiTicketFlowCollection {
  uuid: string;
  name?: string;
  description?: string;
  state?: string;
  status?: string;
  isDefault?: boolean;
  flows?: ApiTicketFlow[];
  ticketTypeUuids?: string[];
  projectUuid?: string;
  createDate?: string;
  lastOpDate?: string;
}

export interface ApiSession {
  uuid: string;
  accountUuid?: string;
  userUuid?: string;
  userType?: string;
  expiredDate?: string;
  createDate?: string;
  noSessionEvaluation?: boolean;
}

/** `{"inventories": [...], "total"?: N, "schema": {...}}` */
export interface ApiQueryReply<T> {
  inventories?: T[];
  total?: number;
  schema?: Record<string, string>;
}

/** `{"inventory": {...}}` (schema ignored) */
export interface ApiInventoryReply<T> {
  inventory?: T;
}
