import DataLoader from 'dataloader';
import { unauthenticated } from './errors.js';
import type { CallOptions, ZStackClient } from './zstack/client.js';
import { parseJavaDate } from './zstack/dates.js';
/** At most this many uuids go into one `q=…?=a,b,…` condition (URL length, ZStack's IN list). */
import { MAX_UUIDS_PER_QUERY } from './zstack/query.js';
import {
  queryTicketFlowCollections,
  queryTicketHistories,
  queryTickets,
  queryTicketTypes,
} from './zstack/tickets.js';
import type {
  ApiQueryReply,
  ApiTicket,
  ApiTicketFlowCollection,
  ApiTicketStatusHistory,
  ApiTicketType,
} from './zstack/types.js';
/** Rows asked for per history page; a full page means there may be more. */
export const HISTORY_PAGE_SIZE = 1000;

/** Per-request batching loaders; keys are lowercase ZStack uuids. Never shared between requests. */
export interface Loaders {
  ticketByUuid: DataLoader<string, ApiTicket | null>;
  historiesByTicketUuid: DataLoader<string, ApiTicketStatusHistory[]>;
  ticketTypeByUuid: DataLoader<string, ApiTicketType | null>;
  flowCollectionByUuid: DataLoader<string, ApiTicketFlowCollection | null>;
}

export interface LoaderDeps {
  client: ZStackClient;
  /** The caller's session; loads fail with UNAUTHENTICATED without one (resolvers check first). */
  session: string | undefined;
  signal?: AbortSignal;
  /** The operation's deadline (absolute ms). */
  deadline?: number;
  /** CallOptions.tag of every load. */
  tag?: unknown;
  /** Rows per history page (tests use a small one to exercise paging). */
  historyPageSize?: number;
}

type Fetch<T> = (
  client: ZStackClient,
  params: Parameters<typeof queryTickets>[1],
  opts: CallOptions,
) => Promise<ApiQueryReply<T>>;

/**
 * Creates the loaders for one request. Batch functions return results in key order: the row, null
 * for a uuid ZStack does not return, and (through DataLoader) the call's error for every key of a
 * failed call.
 */
export function createLoaders(deps: LoaderDeps): Loaders {
  const options = (): CallOptions & { session: string } => {
    if (!deps.session) throw unauthenticated();
    return { session: deps.session, signal: deps.signal, deadline: deps.deadline, tag: deps.tag };
  };

  function byUuid<T extends { uuid: string }>(fetch: Fetch<T>): DataLoader<string, T | null> {
    return new DataLoader<string, T | null>(
      async (keys) => {
        const reply = await fetch(
          deps.client,
          { conditions: [{ field: 'uuid', op: '?=', value: keys }], limit: keys.length },
          options(),
        );
        const found = new Map<string, T>();
        for (const row of reply.inventories ?? []) found.set(row.uuid, row);
        return keys.map((key) => found.get(key) ?? null);
      },
      { maxBatchSize: MAX_UUIDS_PER_QUERY },
    );
  }

  const pageSize = deps.historyPageSize ?? HISTORY_PAGE_SIZE;
  const histories = () =>
    new DataLoader<string, ApiTicketStatusHistory[]>(
      async (keys) => {
        const opts = options();
        const rows: ApiTicketStatusHistory[] = [];
        // Sorted by uuid (a total order) so that offset pages neither skip nor repeat rows.
        for (let start = 0; ; start += pageSize) {
          const reply = await queryTicketHistories(
            deps.client,
            {
              conditions: [{ field: 'ticketUuid', op: '?=', value: keys }],
              sort: { field: 'uuid', direction: 'asc' },
              limit: pageSize,
              start,
            },
            opts,
          );
          const page = reply.inventories ?? [];
          rows.push(...page);
          if (page.length < pageSize) break;
        }
        const byTicket = new Map<string, ApiTicketStatusHistory[]>(keys.map((k) => [k, []]));
        for (const row of rows) {
          if (row.ticketUuid !== undefined) byTicket.get(row.ticketUuid)?.push(row);
        }
        return keys.map((key) => sortHistory(byTicket.get(key) ?? []));
      },
      { maxBatchSize: MAX_UUIDS_PER_QUERY },
    );

  // Made on first use: most operations need one loader or none (a mutation only primes tickets).
  let tickets: Loaders['ticketByUuid'] | undefined;
  let historiesLoader: Loaders['historiesByTicketUuid'] | undefined;
  let ticketTypes: Loaders['ticketTypeByUuid'] | undefined;
  let flowCollections: Loaders['flowCollectionByUuid'] | undefined;
  return {
    get ticketByUuid() {
      tickets ??= byUuid<ApiTicket>(queryTickets);
      return tickets;
    },
    get historiesByTicketUuid() {
      historiesLoader ??= histories();
      return historiesLoader;
    },
    get ticketTypeByUuid() {
      ticketTypes ??= byUuid<ApiTicketType>(queryTicketTypes);
      return ticketTypes;
    },
    get flowCollectionByUuid() {
      flowCollections ??= byUuid<ApiTicketFlowCollection>(queryTicketFlowCollections);
      return flowCollections;
    },
  };
}

/** Milliseconds for ordering only: every date of one ZStack is in the same zone, so UTC orders them right. */
function orderingTime(value: string | undefined): number {
  if (value === undefined) return Number.NEGATIVE_INFINITY;
  return parseJavaDate(value, 'UTC')?.getTime() ?? Number.NEGATIVE_INFINITY;
}

/** History in the order it happened: by sequence (newer ZStacks), then by creation date. */
export function sortHistory(rows: ApiTicketStatusHistory[]): ApiTicketStatusHistory[] {
  return rows
    .map((row) => ({ row, seq: row.sequence ?? Number.NEGATIVE_INFINITY, at: orderingTime(row.createDate) }))
    .sort((a, b) => a.seq - b.seq || a.at - b.at)
    .map((x) => x.row);
}
