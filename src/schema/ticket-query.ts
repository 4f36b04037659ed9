import { badInput } from '../errors.js';
import { authed } from '../request/context.js';
import {
  buildQuery,
  likeContains,
  MAX_UUIDS_PER_QUERY,
  type QueryCondition,
  type QueryParams,
  QueryValueError,
} from '../zstack/query.js';
import { queryTickets } from '../zstack/tickets.js';
import type { ApiTicket } from '../zstack/types.js';
import { builder } from './builder.js';
import { connectionType, type Page, pageWindow, toPage } from './connection.js';
import { checkLength, parseUuid } from './input.js';
import { connectionSelection } from './selection.js';
import { Ticket } from './ticket.js';
import { TicketStatus } from './values.js';

/** The most uuids one `uuidIn` filter may list: one upstream condition. */
export const MAX_UUID_IN = MAX_UUIDS_PER_QUERY;
/** Text filters; nameContains loses two characters to the `%…%` around it (ZStack's limit is 255). */
export const MAX_TEXT_FILTER = 255;
export const MAX_CONTAINS_FILTER = 253;

/** The ZStack TicketInventory fields each Ticket field reads; a field not listed here disables projection. */
export const TICKET_FIELD_SOURCES: Readonly<Record<string, readonly string[]>> = {
  __typename: [],
  id: ['uuid'],
  uuid: ['uuid'],
  name: ['name'],
  description: ['description'],
  status: ['status'],
  request: ['request'],
  accountSystemType: ['accountSystemType'],
  accountSystemContext: ['accountSystemContext'],
  ticketTypeUuid: ['ticketTypeUuid'],
  currentFlowUuid: ['currentFlowUuid'],
  flowCollectionUuid: ['flowCollectionUuid'],
  createDate: ['createDate'],
  lastOpDate: ['lastOpDate'],
  history: [],
  ticketType: ['ticketTypeUuid'],
  flowCollection: ['flowCollectionUuid'],
};
export const ALL_TICKET_FIELDS = [
  'uuid',
  'name',
  'description',
  'status',
  'request',
  'accountSystemType',
  'accountSystemContext',
  'ticketTypeUuid',
  'currentFlowUuid',
  'flowCollectionUuid',
  'createDate',
  'lastOpDate',
] as const;

/**
 * The `fields=` projection for the selected fields: uuid always, plus what each selected field reads
 * (`sources`). Undefined (fetch whole inventories) when the selection is not understood, names a
 * field missing from `sources`, or needs every field of `all`.
 */
export function fieldProjection(
  selected: ReadonlyMap<string, unknown> | undefined,
  sources: Readonly<Record<string, readonly string[]>>,
  all: readonly string[],
): string[] | undefined {
  if (!selected) return undefined;
  const needed = new Set<string>(['uuid']);
  for (const name of selected.keys()) {
    const from = sources[name];
    if (!from) return undefined;
    for (const source of from) needed.add(source);
  }
  if (needed.size === all.length) return undefined;
  return all.filter((f) => needed.has(f));
}

/** The `fields=` projection for the selected Ticket fields (see fieldProjection). */
export function ticketProjection(selected: ReadonlyMap<string, unknown> | undefined): string[] | undefined {
  return fieldProjection(selected, TICKET_FIELD_SOURCES, ALL_TICKET_FIELDS);
}

export const TicketWhere = builder.inputType('TicketWhere', {
  description:
    "Ticket filters; all given filters must match (AND). Values match literally (no wildcards): a value ZStack could not match literally is refused with BAD_USER_INPUT. Text compares the way ZStack's database does: on its default MySQL collation, without regard to case or accents.",
  fields: (t) => ({
    uuidIn: t.idList({ description: `Tickets with one of these uuids (at most ${MAX_UUID_IN}).` }),
    statusIn: t.field({ type: [TicketStatus], description: 'Tickets in one of these statuses.' }),
    name: t.string({
      description: `Tickets with this name, case and accents aside on ZStack's default MySQL collation (at most ${MAX_TEXT_FILTER} characters).`,
    }),
    nameContains: t.string({
      description: `Tickets whose name contains this text, case and accents aside on ZStack's default MySQL collation (at most ${MAX_CONTAINS_FILTER} characters; % and _ are refused: ZStack cannot match them literally).`,
    }),
    ticketTypeUuid: t.id({ description: 'Tickets of this ticket type.' }),
    flowCollectionUuid: t.id({ description: 'Tickets going through this flow collection.' }),
    accountSystemType: t.string({
      description: `Tickets of this account system, e.g. iam2 (at most ${MAX_TEXT_FILTER} characters).`,
    }),
  }),
});

const TicketOrderField = builder.enumType('TicketOrderField', {
  description: 'What tickets can be sorted by (ZStack sorts on one field).',
  values: {
    CREATE_DATE: { value: 'createDate', description: 'When the ticket was created.' },
    LAST_OP_DATE: { value: 'lastOpDate', description: 'When the ticket last changed.' },
    NAME: { value: 'name', description: 'The ticket name.' },
  } as const,
});

export const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { value: 'asc', description: 'Smallest (or oldest) first.' },
    DESC: { value: 'desc', description: 'Largest (or newest) first.' },
  } as const,
});

export const TicketOrder = builder.inputType('TicketOrder', {
  description: 'How to sort tickets (ZStack sorts on one field).',
  fields: (t) => ({
    field: t.field({ type: TicketOrderField, required: true, description: 'The field to sort by.' }),
    direction: t.field({
      type: OrderDirection,
      required: true,
      defaultValue: 'asc',
      description: 'The direction.',
    }),
  }),
});

export type TicketWhereInput = {
  uuidIn?: readonly string[] | null;
  statusIn?: readonly string[] | null;
  name?: string | null;
  nameContains?: string | null;
  ticketTypeUuid?: string | null;
  flowCollectionUuid?: string | null;
  accountSystemType?: string | null;
};

/** A list query's parameters from its page window, filter, count and order, checked before any call. */
export function listParams(
  window: { limit: number; start: number },
  conditions: QueryCondition[] | null,
  totalCount: boolean,
  orderBy: QueryParams['sort'] | null | undefined,
  fields: string[] | undefined,
): QueryParams {
  const params: QueryParams = {
    conditions: conditions ?? [],
    limit: window.limit,
    start: window.start,
    replyWithCount: totalCount,
    sort: orderBy ?? undefined,
    fields,
  };
  checkQuery(params);
  return params;
}

/**
 * `field ?= uuids` for a list argument (each uuid checked, duplicates dropped): 'empty' for an empty
 * list (it matches nothing), undefined when the argument is unset.
 */
export function uuidInCondition(
  list: readonly string[] | null | undefined,
  field: string,
  arg: string,
): QueryCondition | 'empty' | undefined {
  if (list === null || list === undefined) return undefined;
  if (list.length > MAX_UUID_IN)
    throw badInput(`${arg} lists at most ${MAX_UUID_IN} uuids (got ${list.length}).`, arg);
  const uuids = [...new Set(list.map((u) => parseUuid(u, arg)))];
  return uuids.length === 0 ? 'empty' : { field, op: '?=', value: uuids };
}

/** `status ?= …` for a statusIn argument, as uuidInCondition. */
export function statusInCondition(
  list: readonly string[] | null | undefined,
): QueryCondition | 'empty' | undefined {
  if (list === null || list === undefined) return undefined;
  const statuses = [...new Set(list)];
  return statuses.length === 0 ? 'empty' : { field: 'status', op: '?=', value: statuses };
}

/**
 * The `q=` conditions of a TicketWhere, validated (BAD_USER_INPUT) before any call; null when the
 * filter can match nothing (an empty list).
 */
export function ticketConditions(where: TicketWhereInput | null | undefined): QueryCondition[] | null {
  const conditions: QueryCondition[] = [];
  if (!where) return conditions;
  let empty = false;
  const uuids = uuidInCondition(where.uuidIn, 'uuid', 'where.uuidIn');
  const statuses = statusInCondition(where.statusIn);
  for (const c of [uuids, statuses]) {
    if (c === 'empty') empty = true;
    else if (c !== undefined) conditions.push(c);
  }
  const name = checkLength(where.name, MAX_TEXT_FILTER, 'where.name');
  if (name !== undefined) conditions.push({ field: 'name', op: '=', value: name });
  const contains = nameContainsCondition(where.nameContains);
  if (contains) conditions.push(contains);
  if (where.ticketTypeUuid !== null && where.ticketTypeUuid !== undefined) {
    conditions.push({
      field: 'ticketTypeUuid',
      op: '=',
      value: parseUuid(where.ticketTypeUuid, 'where.ticketTypeUuid'),
    });
  }
  if (where.flowCollectionUuid !== null && where.flowCollectionUuid !== undefined) {
    conditions.push({
      field: 'flowCollectionUuid',
      op: '=',
      value: parseUuid(where.flowCollectionUuid, 'where.flowCollectionUuid'),
    });
  }
  const accountSystemType = checkLength(where.accountSystemType, MAX_TEXT_FILTER, 'where.accountSystemType');
  if (accountSystemType !== undefined) {
    conditions.push({ field: 'accountSystemType', op: '=', value: accountSystemType });
  }
  return empty ? null : conditions;
}

/** The `name~=%…%` condition of a nameContains filter, refused (BAD_USER_INPUT) when ZStack cannot match it literally. */
export function nameContainsCondition(value: string | null | undefined): QueryCondition | undefined {
  const contains = checkLength(value, MAX_CONTAINS_FILTER, 'where.nameContains');
  if (contains === undefined) return undefined;
  try {
    return { field: 'name', op: '~=', value: likeContains(contains) };
  } catch (err) {
    if (err instanceof QueryValueError)
      throw badInput(`where.nameContains: ${err.message}`, 'where.nameContains');
    throw err;
  }
}

/** Builds the query string once up front so a value ZStack would mis-parse is BAD_USER_INPUT, not a call. */
export function checkQuery(params: QueryParams): void {
  try {
    buildQuery(params);
  } catch (err) {
    if (err instanceof QueryValueError) throw badInput(err.message, 'where');
    throw err;
  }
}

const TicketConnection = connectionType('Ticket', Ticket, 'tickets');

builder.queryField('ticket', (t) =>
  t.field({
    type: Ticket,
    nullable: true,
    description:
      'One ticket by uuid; null when ZStack returns none. All ticket(uuid:) fields of one request are looked up together.',
    args: { uuid: t.arg.id({ required: true, description: 'The ticket uuid (32 hex characters).' }) },
    resolve: (_root, args, ctx) => {
      const uuid = parseUuid(args.uuid, 'uuid');
      authed(ctx);
      return ctx.loaders.ticketByUuid.load(uuid);
    },
  }),
);

builder.queryField('tickets', (t) =>
  t.field({
    type: TicketConnection,
    nullable: true,
    description:
      'Tickets matching `where`, sorted by `orderBy` (default: ZStack order), a page at a time (QueryTicket). Only the selected fields are fetched, and the total only when totalCount is selected.',
    args: {
      where: t.arg({ type: TicketWhere, description: 'Filters; all must match.' }),
      orderBy: t.arg({ type: TicketOrder, description: 'Sort order; ZStack order when omitted.' }),
      first: t.arg.int({ defaultValue: 50, description: 'How many tickets to return: 0 to 500.' }),
      after: t.arg.string({ description: 'Return the tickets after this cursor (from a previous page).' }),
    },
    resolve: async (_root, args, ctx, info): Promise<Page<ApiTicket>> => {
      const window = pageWindow(args.first, args.after);
      const conditions = ticketConditions(args.where);
      const selection = connectionSelection(info, 'Ticket', 'Ticket');
      const fields = ticketProjection(selection.nodeFields);
      const params = listParams(window, conditions, selection.totalCount, args.orderBy, fields);
      const opts = authed(ctx);
      if (conditions === null) return { rows: [], start: window.start, hasNextPage: false, total: 0 };
      const page = toPage(window, await queryTickets(ctx.client, params, opts));
      // A projected row lacks fields; only whole inventories may answer later ticket(uuid:) loads.
      if (!fields) for (const row of page.rows) ctx.loaders.ticketByUuid.prime(row.uuid, row);
      return page;
    },
  }),
);
