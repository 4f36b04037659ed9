import { queryTicketFlowCollections } from '../zstack/tickets.js';
import type { ApiTicketFlow, ApiTicketFlowCollection } from '../zstack/types.js';
import { builder } from './builder.js';
import { connectionType, listPage } from './connection.js';
import { byLoader, uuidNode } from './node.js';
import { ResourceRef, resourceRef } from './resource.js';
import { requiredName, resolveDate } from './values.js';

const TicketFlowNode = builder.nodeRef<ApiTicketFlow>(
  'TicketFlow',
  uuidNode(
    'TicketFlow',
    byLoader((ctx) => ctx.loaders.flowByUuid),
  ),
);

export const TicketFlow = TicketFlowNode.implement({
  description:
    'One approval step of a flow collection (ZStack (IAM2)TicketFlowInventory): who approves at this step.',
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The flow uuid.' }),
    name: t.exposeString('name', {
      nullable: true,
      description: 'The step name, e.g. team-lead-approval.',
    }),
    description: t.exposeString('description', { nullable: true, description: 'The description.' }),
    parentFlowUuid: t.exposeString('parentFlowUuid', {
      nullable: true,
      description: 'The step before this one; null for the first step.',
    }),
    collectionUuid: t.exposeString('collectionUuid', {
      nullable: true,
      description: 'The flow collection this step belongs to.',
    }),
    approverUuid: t.exposeString('approverUuid', {
      nullable: true,
      description: 'The IAM2 virtual ID who approves at this step (IAM2 flows).',
    }),
    approver: t.field({
      type: ResourceRef,
      nullable: true,
      description:
        'The IAM2 virtual ID who approves at this step, by name (from approverUuid); null when absent.',
      resolve: (f) => resourceRef(f.approverUuid),
    }),
    valid: t.boolean({
      nullable: true,
      description:
        "ZStack's IAM2 flow field `valid` (a primitive boolean in ZStack's SDK, so IAM2 flows always carry it); null when ZStack sends none (flows that are not IAM2).",
      resolve: (f) => (typeof f.valid === 'boolean' ? f.valid : null),
    }),
    flowContextType: t.exposeString('flowContextType', {
      nullable: true,
      description: 'The kind of flowContext.',
    }),
    flowContext: t.exposeString('flowContext', {
      nullable: true,
      description: 'Step settings as ZStack stores them (a string, often JSON text).',
    }),
    createDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the step was created.',
      resolve: (f, _a, ctx) => resolveDate(f.createDate, ctx),
    }),
    lastOpDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the step last changed.',
      resolve: (f, _a, ctx) => resolveDate(f.lastOpDate, ctx),
    }),
  }),
});

export const TicketFlowCollection = builder
  .nodeRef<ApiTicketFlowCollection>(
    'TicketFlowCollection',
    uuidNode(
      'TicketFlowCollection',
      byLoader((ctx) => ctx.loaders.flowCollectionByUuid),
    ),
  )
  .implement({
    description:
      'A chain of approval steps a ticket goes through (ZStack (IAM2)TicketFlowCollectionInventory).',
    fields: (t) => ({
      uuid: t.exposeID('uuid', { description: 'The flow collection uuid.' }),
      name: t.string({
        description: 'The flow collection name.',
        resolve: (c) => requiredName(c.name, 'flow collection'),
      }),
      description: t.exposeString('description', { nullable: true, description: 'The description.' }),
      state: t.exposeString('state', {
        nullable: true,
        description: 'Enabled or Disabled; tickets can only be submitted to an enabled collection.',
      }),
      status: t.exposeString('status', { nullable: true, description: 'ZStack status, e.g. Valid.' }),
      isDefault: t.exposeBoolean('isDefault', {
        nullable: true,
        description: 'True for the collection tickets use when they name none.',
      }),
      flows: t.field({
        type: [TicketFlow],
        description: 'The approval steps, in the order ZStack returns them.',
        resolve: (c) => c.flows ?? [],
      }),
      ticketTypeUuids: t.idList({
        nullable: true,
        description: 'The ticket types this collection approves.',
        resolve: (c) => c.ticketTypeUuids ?? null,
      }),
      projectUuid: t.exposeString('projectUuid', {
        nullable: true,
        description: 'The IAM2 project the collection belongs to (IAM2 collections).',
      }),
      createDate: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'When the collection was created.',
        resolve: (c, _a, ctx) => resolveDate(c.createDate, ctx),
      }),
      lastOpDate: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'When the collection last changed.',
        resolve: (c, _a, ctx) => resolveDate(c.lastOpDate, ctx),
      }),
    }),
  });

const TicketFlowCollectionConnection = connectionType(
  'TicketFlowCollection',
  TicketFlowCollection,
  'ticket flow collections',
);

builder.queryField('ticketFlowCollections', (t) =>
  t.field({
    type: TicketFlowCollectionConnection,
    nullable: true,
    description: 'Ticket flow collections with their flows, in ZStack order (QueryTicketFlowCollection).',
    args: {
      first: t.arg.int({ defaultValue: 50, description: 'How many collections to return: 0 to 500.' }),
      after: t.arg.string({
        description: 'Return the collections after this cursor (from a previous page).',
      }),
    },
    resolve: (_root, args, ctx, info) =>
      listPage(
        ctx,
        info,
        'TicketFlowCollection',
        args,
        queryTicketFlowCollections,
        ctx.loaders.flowCollectionByUuid,
      ),
  }),
);
