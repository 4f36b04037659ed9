import { queryTicketTypes } from '../zstack/tickets.js';
import type { ApiTicketType } from '../zstack/types.js';
import { builder } from './builder.js';
import { connectionType, listPage } from './connection.js';
import { byLoader, uuidNode } from './node.js';
import { requiredName, resolveDate } from './values.js';

const TicketTypeNode = builder.nodeRef<ApiTicketType>(
  'TicketType',
  uuidNode(
    'TicketType',
    byLoader((ctx) => ctx.loaders.ticketTypeByUuid),
  ),
);

export const TicketType = TicketTypeNode.implement({
  description:
    'A kind of ticket (ZStack TicketTypeInventory), named after what it asks for, e.g. CREATE_VM_INSTANCE_TICKET_TYPE.',
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The ticket type uuid.' }),
    name: t.string({
      description: 'The ticket type name, e.g. CREATE_VM_INSTANCE_TICKET_TYPE.',
      resolve: (type) => requiredName(type.name, 'ticket type'),
    }),
    description: t.exposeString('description', { nullable: true, description: 'The description.' }),
    type: t.exposeString('type', {
      nullable: true,
      description: 'The category ZStack files the type under.',
    }),
    requests: t.exposeString('requests', {
      nullable: true,
      description:
        'The ZStack API message classes a ticket of this type may ask for, as ZStack stores them (one string, comma-separated).',
    }),
    adminOnly: t.exposeBoolean('adminOnly', {
      nullable: true,
      description: 'True when only an admin may submit tickets of this type (newer ZStacks only).',
    }),
    createDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the ticket type was created.',
      resolve: (type, _a, ctx) => resolveDate(type.createDate, ctx),
    }),
    lastOpDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the ticket type last changed.',
      resolve: (type, _a, ctx) => resolveDate(type.lastOpDate, ctx),
    }),
  }),
});

const TicketTypeConnection = connectionType('TicketType', TicketType, 'ticket types');

builder.queryField('ticketTypes', (t) =>
  t.field({
    type: TicketTypeConnection,
    nullable: true,
    description: 'Ticket types, in ZStack order (QueryTicketType).',
    args: {
      first: t.arg.int({
        defaultValue: 50,
        description: 'How many ticket types to return: 0 to 500.',
      }),
      after: t.arg.string({
        description: 'Return the ticket types after this cursor (from a previous page).',
      }),
    },
    resolve: (_root, args, ctx, info) =>
      listPage(ctx, info, 'TicketType', args, queryTicketTypes, ctx.loaders.ticketTypeByUuid),
  }),
);
