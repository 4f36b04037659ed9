import { unrepresentable } from '../errors.js';
import type { ApiTicket, ApiTicketRequest } from '../zstack/types.js';
import { builder } from './builder.js';
import { TicketFlowCollection } from './flow-collection.js';
import { byLoader, uuidNode } from './node.js';
import {
  ResourceRef,
  type ResourceRefShape,
  requestAction,
  requestResources,
  resourceRef,
} from './resource.js';
import { upstreamJson } from './scalars.js';
import { TicketStatusHistory } from './ticket-history.js';
import { TicketType } from './ticket-type.js';
import { requiredName, resolveDate, resolveStatus, TicketStatus } from './values.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

export const TicketRequest = builder.objectRef<ApiTicketRequest>('TicketRequest').implement({
  description: 'One API call a ticket asks to run when it is finally approved.',
  fields: (t) => ({
    requestName: t.string({
      description: 'A name for the request, chosen by the submitter.',
      nullable: true,
      resolve: (r) => r.requestName ?? null,
    }),
    apiName: t.string({
      description: 'The ZStack API message class to run, e.g. org.zstack.header.vm.APICreateVmInstanceMsg.',
      nullable: true,
      resolve: (r) => r.apiName ?? null,
    }),
    executeTimes: t.int({
      description: 'How many times the API is run on final approval (ZStack sends it as 1.0).',
      nullable: true,
      resolve: (r) => {
        if (r.executeTimes === undefined || r.executeTimes === null) return null;
        const n = Number(r.executeTimes);
        if (!Number.isInteger(n)) {
          throw unrepresentable(`ZStack returned executeTimes ${r.executeTimes}, not a whole number.`);
        }
        return n;
      },
    }),
    action: t.string({
      description:
        'What the request does: the simple name of apiName without a leading API and a trailing Msg (org.zstack.header.vm.APICreateVmInstanceMsg → CreateVmInstance); null without apiName.',
      nullable: true,
      resolve: (r) => requestAction(r.apiName),
    }),
    apiBody: t.field({
      type: 'JSON',
      description: 'The body of the API call, as free-form JSON.',
      nullable: true,
      resolve: (r) => upstreamJson(r.apiBody),
    }),
    resources: t.field({
      type: [ResourceRef],
      nullable: { list: false, items: true },
      description:
        'The ZStack resources the apiBody names: every value, at any depth, of a key ending in Uuid (a string) or Uuids (a list of strings) that is a ZStack uuid (32 hex characters), in first-seen order (depth first, keys in the order received), without duplicates. Nesting deeper than 32 levels and values past the first 10,000 are not looked at. At most 100 are listed (a limit of the gateway): when the apiBody names more, the list ends with one null entry whose error (RESOURCE_LIMIT_EXCEEDED) says it was cut there; every other entry is non-null.',
      // An Error as a list item is that item's field error (graphql-js and graphql-jit alike); Pothos's
      // item type does not say so.
      resolve: (r, _args, ctx) =>
        requestResources(r.apiBody, ctx.maxResourcesPerRequest) as ResourceRefShape[],
    }),
  }),
});

type ApiAccountSystemContext = Record<string, unknown>;

export const AccountSystemContext = builder
  .objectRef<ApiAccountSystemContext>('AccountSystemContext')
  .implement({
    description:
      'Who submitted a ticket, in the terms of its account system (for iam2: project and virtual ID).',
    fields: (t) => ({
      projectUuid: t.string({
        description: 'The IAM2 project the ticket was submitted in.',
        nullable: true,
        resolve: (c) => (typeof c.projectUuid === 'string' ? c.projectUuid : null),
      }),
      project: t.field({
        type: ResourceRef,
        description:
          'The IAM2 project the ticket was submitted in, by name (from projectUuid); null when absent.',
        nullable: true,
        resolve: (c) => resourceRef(c.projectUuid),
      }),
      virtualIDUuid: t.string({
        description: 'The IAM2 virtual ID (user) who submitted the ticket.',
        nullable: true,
        resolve: (c) => (typeof c.virtualIDUuid === 'string' ? c.virtualIDUuid : null),
      }),
      virtualId: t.field({
        type: ResourceRef,
        description:
          'The IAM2 virtual ID (user) who submitted the ticket, by name (from virtualIDUuid); null when absent.',
        nullable: true,
        resolve: (c) => resourceRef(c.virtualIDUuid),
      }),
      json: t.field({
        type: 'JSON',
        description: 'The whole context object as ZStack holds it, nothing left out.',
        resolve: (c) => upstreamJson(c),
      }),
    }),
  });

/**
 * The fields a live ticket and an archived one share (all but uuid), so both read ZStack's
 * inventory the same way.
 */
export function ticketFields<T extends ApiTicket>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, T>) {
  return {
    name: t.string({
      description: 'The ticket name.',
      resolve: (ticket) => requiredName(ticket.name, 'ticket'),
    }),
    description: t.string({
      description: 'The ticket description.',
      nullable: true,
      resolve: (ticket) => ticket.description ?? null,
    }),
    status: t.field({
      type: TicketStatus,
      description:
        'The ticket status. Null, with a field error UPSTREAM_ERROR naming it, when ZStack sends a status this gateway does not know.',
      nullable: true,
      resolve: (ticket) => resolveStatus(ticket.status) as never,
    }),
    request: t.field({
      type: [TicketRequest],
      description: 'The API calls the ticket asks for (ZStack names this list `request`).',
      resolve: (ticket) => ticket.request ?? [],
    }),
    accountSystemType: t.string({
      description: 'The account system the submitter belongs to, e.g. iam2.',
      nullable: true,
      resolve: (ticket) => ticket.accountSystemType ?? null,
    }),
    accountSystemContext: t.field({
      type: AccountSystemContext,
      description: 'Who submitted the ticket, in the terms of its account system.',
      nullable: true,
      resolve: (ticket) =>
        ticket.accountSystemContext && typeof ticket.accountSystemContext === 'object'
          ? ticket.accountSystemContext
          : null,
    }),
    ticketTypeUuid: t.string({
      description: 'The uuid of the ticket type.',
      nullable: true,
      resolve: (ticket) => ticket.ticketTypeUuid ?? null,
    }),
    currentFlowUuid: t.string({
      description: 'The flow (approval step) whose approver acts next.',
      nullable: true,
      resolve: (ticket) => ticket.currentFlowUuid ?? null,
    }),
    flowCollectionUuid: t.string({
      description: 'The flow collection (chain of approval steps) the ticket goes through.',
      nullable: true,
      resolve: (ticket) => ticket.flowCollectionUuid ?? null,
    }),
    createDate: t.field({
      type: 'DateTime',
      description: 'When the ticket was created.',
      nullable: true,
      resolve: (ticket, _args, ctx) => resolveDate(ticket.createDate, ctx),
    }),
    lastOpDate: t.field({
      type: 'DateTime',
      description: 'When the ticket last changed.',
      nullable: true,
      resolve: (ticket, _args, ctx) => resolveDate(ticket.lastOpDate, ctx),
    }),
  };
}

const TicketNode = builder.nodeRef<ApiTicket>(
  'Ticket',
  uuidNode(
    'Ticket',
    byLoader((ctx) => ctx.loaders.ticketByUuid),
  ),
);

export const Ticket = TicketNode.implement({
  description:
    'An approval ticket (ZStack TicketInventory): a list of API requests that run once every approver of its flow collection has approved.',
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The ticket uuid (32 lowercase hex characters).' }),
    ...ticketFields(t),
  }),
});

/** A ticket's relations, each batched per request by its loader; each nullable, so a failed call costs only that field. */
builder.objectFields(Ticket, (t) => ({
  history: t.field({
    type: [TicketStatusHistory],
    // Its own upstream call: if it fails, only this list is null (with the error at its path).
    nullable: { list: true, items: false },
    description:
      'Every status change of the ticket, oldest first (by sequence, then date). Fetched for all tickets of one response together; null, with the error at this path, when that fetch fails.',
    resolve: (ticket, _args, ctx) => ctx.loaders.historiesByTicketUuid.load(ticket.uuid),
  }),
  ticketType: t.field({
    type: TicketType,
    nullable: true,
    description:
      'The ticket type; null when the ticket has none, when ZStack no longer knows it, or (with the error at this path) when it cannot be fetched.',
    resolve: (ticket, _args, ctx) =>
      ticket.ticketTypeUuid ? ctx.loaders.ticketTypeByUuid.load(ticket.ticketTypeUuid) : null,
  }),
  flowCollection: t.field({
    type: TicketFlowCollection,
    nullable: true,
    description:
      'The flow collection (approval chain) the ticket goes through, with its flows; null when unknown or (with the error at this path) when it cannot be fetched.',
    resolve: (ticket, _args, ctx) =>
      ticket.flowCollectionUuid ? ctx.loaders.flowCollectionByUuid.load(ticket.flowCollectionUuid) : null,
  }),
}));
