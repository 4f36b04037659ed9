/** The ticket module's statuses, events and the query schemas of its tables (protocol section 10.1). */
import type { QuerySchema, Row } from './query.js';

export const TICKET_STATUSES = [
  'Pending',
  'IntermediateApproved',
  'FinalApproved',
  'Rejected',
  'Cancelled',
] as const;
export const STATUS_EVENTS = ['open', 'approve', 'cancel', 'reject', 'reopen'] as const;
export type StatusEvent = (typeof STATUS_EVENTS)[number];

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
export function flowRow(flow: Row): Row {
  return { ...flow, valid: flow.valid !== false };
}
