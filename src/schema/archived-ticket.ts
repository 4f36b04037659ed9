import { authed } from '../request/context.js';
import type { QueryCondition } from '../zstack/query.js';
import { queryArchiveTickets } from '../zstack/tickets.js';
import type { ApiArchiveTicket, ApiArchiveTicketStatusHistory } from '../zstack/types.js';
import { builder } from './builder.js';
import { connectionType, type Page, pageWindow, toPage } from './connection.js';
import { parseUuid } from './input.js';
import { byLoader, uuidNode } from './node.js';
import { ResourceRef, resourceRef } from './resource.js';
import { connectionSelection } from './selection.js';
import { ticketFields } from './ticket.js';
import { historyFields } from './ticket-history.js';
import {
  ALL_TICKET_FIELDS,
  fieldProjection,
  listParams,
  MAX_UUID_IN,
  nameContainsCondition,
  statusInCondition,
  TICKET_FIELD_SOURCES,
  TicketOrder,
  uuidInCondition,
} from './ticket-query.js';
import { TicketStatus } from './values.js';

export const ArchivedTicketStatusHistory = builder
  .nodeRef<ApiArchiveTicketStatusHistory>(
    'ArchivedTicketStatusHistory',
    uuidNode(
      'ArchivedTicketStatusHistory',
      byLoader((ctx) => ctx.loaders.archivedHistoryByUuid),
    ),
  )
  .implement({
    description:
      'One status change of a deleted ticket, as ZStack archived it (ZStack ArchiveTicketStatusHistoryInventory).',
    fields: (t) => ({
      uuid: t.exposeID('uuid', { description: 'The archive row uuid.' }),
      historyUuid: t.id({
        nullable: true,
        description: 'The uuid the row had in the live history, before the ticket was deleted.',
        resolve: (h) => h.historyUuid ?? null,
      }),
      ...historyFields(t),
    }),
  });

const ArchivedTicketNode = builder.nodeRef<ApiArchiveTicket>(
  'ArchivedTicket',
  uuidNode(
    'ArchivedTicket',
    byLoader((ctx) => ctx.loaders.archivedTicketByUuid),
  ),
);

export const ArchivedTicket = ArchivedTicketNode.implement({
  description:
    'A deleted ticket: ZStack moves a deleted ticket and its history to archives (ZStack ArchiveTicketInventory).',
  fields: (t) => ({
    uuid: t.exposeID('uuid', {
      description: 'The archive row uuid (not the ticket uuid: see ticketUuid).',
    }),
    ticketUuid: t.id({
      nullable: true,
      description: 'The uuid the ticket had before it was deleted.',
      resolve: (a) => a.ticketUuid ?? null,
    }),
    accountUuid: t.string({
      nullable: true,
      description: 'The account the ticket belonged to.',
      resolve: (a) => a.accountUuid ?? null,
    }),
    account: t.field({
      type: ResourceRef,
      nullable: true,
      description: 'The account the ticket belonged to, by name (from accountUuid); null when absent.',
      resolve: (a) => resourceRef(a.accountUuid),
    }),
    ...ticketFields(t),
    history: t.field({
      type: [ArchivedTicketStatusHistory],
      nullable: { list: true, items: false },
      description:
        'The archived status changes of the ticket, oldest first (by sequence, then date). Fetched for all archived tickets of one response together; null, with the error at this path, when that fetch fails.',
      resolve: (a, _args, ctx) =>
        a.ticketUuid ? ctx.loaders.archivedHistoriesByTicketUuid.load(a.ticketUuid.toLowerCase()) : [],
    }),
  }),
});

/** The ZStack ArchiveTicketInventory fields each ArchivedTicket field reads. */
const ARCHIVE_FIELD_SOURCES: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(
    Object.entries(TICKET_FIELD_SOURCES).filter(
      ([name]) => name !== 'ticketType' && name !== 'flowCollection',
    ),
  ),
  ticketUuid: ['ticketUuid'],
  accountUuid: ['accountUuid'],
  account: ['accountUuid'],
  history: ['ticketUuid'],
};
const ALL_ARCHIVE_FIELDS = [...ALL_TICKET_FIELDS, 'ticketUuid', 'accountUuid'] as const;

export const ArchivedTicketWhere = builder.inputType('ArchivedTicketWhere', {
  description:
    "Archived ticket filters; all given filters must match (AND). Values match literally (no wildcards): a value ZStack could not match literally is refused with BAD_USER_INPUT. Text compares the way ZStack's database does: on its default MySQL collation, without regard to case or accents.",
  fields: (t) => ({
    ticketUuidIn: t.idList({
      description: `Archived tickets whose ticket had one of these uuids (at most ${MAX_UUID_IN}).`,
    }),
    statusIn: t.field({ type: [TicketStatus], description: 'Archived tickets in one of these statuses.' }),
    nameContains: t.string({
      description:
        "Archived tickets whose name contains this text, case and accents aside on ZStack's default MySQL collation (at most 253 characters; % and _ are refused: ZStack cannot match them literally).",
    }),
    accountUuid: t.id({ description: 'Archived tickets of this account.' }),
  }),
});

export interface ArchivedTicketWhereInput {
  ticketUuidIn?: readonly string[] | null;
  statusIn?: readonly string[] | null;
  nameContains?: string | null;
  accountUuid?: string | null;
}

/**
 * The `q=` conditions of an ArchivedTicketWhere, validated (BAD_USER_INPUT) before any call; null
 * when the filter can match nothing (an empty list).
 */
export function archivedTicketConditions(
  where: ArchivedTicketWhereInput | null | undefined,
): QueryCondition[] | null {
  const conditions: QueryCondition[] = [];
  if (!where) return conditions;
  let empty = false;
  const uuids = uuidInCondition(where.ticketUuidIn, 'ticketUuid', 'where.ticketUuidIn');
  const statuses = statusInCondition(where.statusIn);
  for (const c of [uuids, statuses]) {
    if (c === 'empty') empty = true;
    else if (c !== undefined) conditions.push(c);
  }
  const contains = nameContainsCondition(where.nameContains);
  if (contains) conditions.push(contains);
  if (where.accountUuid !== null && where.accountUuid !== undefined) {
    conditions.push({
      field: 'accountUuid',
      op: '=',
      value: parseUuid(where.accountUuid, 'where.accountUuid'),
    });
  }
  return empty ? null : conditions;
}

const ArchivedTicketConnection = connectionType('ArchivedTicket', ArchivedTicket, 'archived tickets');

builder.queryField('archivedTickets', (t) =>
  t.field({
    type: ArchivedTicketConnection,
    nullable: true,
    description:
      'Deleted tickets (ZStack keeps them and their history in archives) matching `where`, sorted by `orderBy` (default: ZStack order), a page at a time (QueryArchiveTicket). Only the selected fields are fetched, the total only when totalCount is selected, and the history of a whole page in one call.',
    args: {
      where: t.arg({ type: ArchivedTicketWhere, description: 'Filters; all must match.' }),
      orderBy: t.arg({ type: TicketOrder, description: 'Sort order; ZStack order when omitted.' }),
      first: t.arg.int({ defaultValue: 50, description: 'How many archived tickets to return: 0 to 500.' }),
      after: t.arg.string({
        description: 'Return the archived tickets after this cursor (from a previous page).',
      }),
    },
    resolve: async (_root, args, ctx, info): Promise<Page<ApiArchiveTicket>> => {
      const window = pageWindow(args.first, args.after);
      const conditions = archivedTicketConditions(args.where);
      const selection = connectionSelection(info, 'ArchivedTicket', 'ArchivedTicket');
      const fields = fieldProjection(selection.nodeFields, ARCHIVE_FIELD_SOURCES, ALL_ARCHIVE_FIELDS);
      const params = listParams(window, conditions, selection.totalCount, args.orderBy, fields);
      const opts = authed(ctx);
      if (conditions === null) return { rows: [], start: window.start, hasNextPage: false, total: 0 };
      return toPage(window, await queryArchiveTickets(ctx.client, params, opts));
    },
  }),
);
