import { unrepresentable } from '../errors.js';
import type { ApiTicketStatusHistory } from '../zstack/types.js';
import { builder } from './builder.js';
import { byLoader, uuidNode } from './node.js';
import { ResourceRef, resourceRef } from './resource.js';
import { upstreamJson } from './scalars.js';
import { resolveDate, resolveStatus, TicketStatus } from './values.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The fields a live history row and an archived one share (all but uuid). */
export function historyFields<T extends ApiTicketStatusHistory>(
  t: PothosSchemaTypes.ObjectFieldBuilder<Types, T>,
) {
  return {
    ticketUuid: t.id({
      description: 'The ticket this row belongs to.',
      resolve: (h) => {
        if (h.ticketUuid !== undefined) return h.ticketUuid;
        throw unrepresentable('ZStack returned a ticket history row without a ticketUuid.');
      },
    }),
    fromStatus: t.field({
      type: TicketStatus,
      nullable: true,
      description:
        'The status before the change. ZStack stores one on every row (the column is NOT NULL), the row written when the ticket was created included; null only when a ZStack sends none.',
      resolve: (h) => resolveStatus(h.fromStatus) as never,
    }),
    toStatus: t.field({
      type: TicketStatus,
      nullable: true,
      description: 'The status after the change.',
      resolve: (h) => resolveStatus(h.toStatus) as never,
    }),
    comment: t.string({
      nullable: true,
      description: 'The comment sent with the change.',
      resolve: (h) => h.comment ?? null,
    }),
    operationContextType: t.string({
      nullable: true,
      description: 'What kind of change this was, e.g. StatusChanged.',
      resolve: (h) => h.operationContextType ?? null,
    }),
    operationContext: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Details of the change as ZStack holds them; on final approval the results of the requests (requestResults).',
      resolve: (h) => upstreamJson(h.operationContext),
    }),
    operatorType: t.string({
      nullable: true,
      description: 'Who made the change: IAM2VirtualID or Account.',
      resolve: (h) => h.operatorType ?? null,
    }),
    operatorUuid: t.string({
      nullable: true,
      description: 'The virtual ID, account or user who made the change.',
      resolve: (h) => h.operatorUuid ?? null,
    }),
    operator: t.field({
      type: ResourceRef,
      nullable: true,
      description:
        'The virtual ID, account or user who made the change, by name (from operatorUuid); null when absent.',
      resolve: (h) => resourceRef(h.operatorUuid),
    }),
    flowName: t.string({
      nullable: true,
      description: 'The approval step the ticket was at when it changed.',
      resolve: (h) => h.flowName ?? null,
    }),
    sequence: t.int({
      nullable: true,
      description:
        "A number from ZStack's one counter for its whole history table (AUTO_INCREMENT, ZStack 4.0 and newer; null on older ones): a later change has a larger number, but a ticket's changes are neither numbered from 1 nor without gaps. Use it to order, not to count.",
      resolve: (h) => (typeof h.sequence === 'number' && Number.isInteger(h.sequence) ? h.sequence : null),
    }),
    createDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the change happened.',
      resolve: (h, _a, ctx) => resolveDate(h.createDate, ctx),
    }),
    lastOpDate: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the row last changed.',
      resolve: (h, _a, ctx) => resolveDate(h.lastOpDate, ctx),
    }),
  };
}

export const TicketStatusHistory = builder
  .nodeRef<ApiTicketStatusHistory>(
    'TicketStatusHistory',
    uuidNode(
      'TicketStatusHistory',
      byLoader((ctx) => ctx.loaders.ticketHistoryByUuid),
    ),
  )
  .implement({
    description: 'One status change of a ticket (ZStack TicketStatusHistoryInventory).',
    fields: (t) => ({
      uuid: t.exposeID('uuid', { description: 'The history row uuid.' }),
      ...historyFields(t),
    }),
  });
