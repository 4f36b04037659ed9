import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { ErrorCode, unauthenticated } from '../errors.js';
import type { CallerSignal } from '../zstack/call-types.js';
import type { CallOptions, CallRequest, GetRequest, JobState, ZStackClient } from '../zstack/client.js';
import { parseJavaDate } from '../zstack/dates.js';
/** At most this many uuids go into one `q=…?=a,b,…` condition (URL length, ZStack's IN list). */
import { MAX_UUIDS_PER_QUERY } from '../zstack/query.js';
import { getResourceNames, MAX_UUIDS_PER_NAMES_CALL } from '../zstack/resources.js';
import {
  queryArchiveTicketHistories,
  queryArchiveTickets,
  queryTicketFlowCollections,
  queryTicketFlows,
  queryTicketHistories,
  queryTickets,
  queryTicketTypes,
} from '../zstack/tickets.js';
import type {
  ApiArchiveTicket,
  ApiArchiveTicketStatusHistory,
  ApiQueryReply,
  ApiResourceName,
  ApiTicket,
  ApiTicketFlow,
  ApiTicketFlowCollection,
  ApiTicketStatusHistory,
  ApiTicketType,
} from '../zstack/types.js';
import type { OperationBudget } from './operation-budget.js';
/** Rows asked for per history page; a full page means there may be more. */
export const HISTORY_PAGE_SIZE = 1000;

/** Per-request batching loaders; keys are lowercase ZStack uuids. Never shared between requests. */
export interface Loaders {
  ticketByUuid: DataLoader<string, ApiTicket | null>;
  historiesByTicketUuid: DataLoader<string, ApiTicketStatusHistory[]>;
  ticketTypeByUuid: DataLoader<string, ApiTicketType | null>;
  flowCollectionByUuid: DataLoader<string, ApiTicketFlowCollection | null>;
  /** Archived history rows by the deleted ticket's uuid (the archive's `ticketUuid`). */
  archivedHistoriesByTicketUuid: DataLoader<string, ApiArchiveTicketStatusHistory[]>;
  /** One history row by its own uuid (node lookups). */
  ticketHistoryByUuid: DataLoader<string, ApiTicketStatusHistory | null>;
  /** One flow (approval step) by its uuid, through QueryTicketFlow (node lookups). */
  flowByUuid: DataLoader<string, ApiTicketFlow | null>;
  /** One archived ticket by its archive row uuid (node lookups). */
  archivedTicketByUuid: DataLoader<string, ApiArchiveTicket | null>;
  /** One archived history row by its archive row uuid (node lookups). */
  archivedHistoryByUuid: DataLoader<string, ApiArchiveTicketStatusHistory | null>;
  /**
   * GetResourceNames rows (null: ZStack does not know the uuid). Its batch waits until nothing else
   * of the operation is in flight, so every name of one operation goes in one call per 100 uuids.
   */
  resourceByUuid: DataLoader<string, ApiResourceName | null>;
  /** A write changed this ticket: drops it and its history from the caches made so far (makes no loader). */
  forgetTicket(uuid: string): void;
}

/**
 * Counts one operation's upstream calls in flight, and runs callbacks once none is and the
 * resolvers they woke have run (a macrotask later): the point where the operation can ask for
 * nothing more but what is queued.
 */
export class CallTracker {
  private inFlight = 0;
  private queue: (() => void)[] = [];
  /** A check is scheduled, or waits for the calls in flight to end. */
  private pending = false;
  private readonly check = (): void => {
    if (this.inFlight > 0) return; // settle() schedules the next check
    this.pending = false;
    const ready = this.queue;
    this.queue = [];
    for (const run of ready) run();
  };
  private readonly settle = (): void => {
    this.inFlight--;
    if (this.inFlight === 0 && this.pending) setImmediate(this.check);
  };

  /** Counts `call` as in flight until it settles; returns it unchanged. */
  track<T>(call: Promise<T>): Promise<T> {
    this.inFlight++;
    call.then(this.settle, this.settle);
    return call;
  }

  /** Runs `fn` once no tracked call is in flight (at the earliest on the next macrotask). */
  whenIdle(fn: () => void): void {
    this.queue.push(fn);
    if (this.pending) return;
    this.pending = true;
    setImmediate(this.check);
  }

  /** `client` with every call counted by this tracker. */
  wrap(client: ZStackClient): ZStackClient {
    return new TrackedClient(client, this);
  }
}

/** A client whose calls a tracker counts; its methods live on the prototype, not in closures per request. */
class TrackedClient implements ZStackClient {
  constructor(
    private readonly client: ZStackClient,
    private readonly calls: CallTracker,
  ) {}
  get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    return this.calls.track(this.client.get<T>(req, opts));
  }
  callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.calls.track(this.client.callSync<T>(req, opts));
  }
  callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.calls.track(this.client.callAsync<T>(req, opts));
  }
  getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    return this.calls.track(this.client.getJobState(jobUuid, opts));
  }
  sentJob(jobUuid: string, session: string): boolean {
    return this.client.sentJob(jobUuid, session);
  }
  notifyJobDone(jobUuid: string): void {
    this.client.notifyJobDone(jobUuid);
  }
  close(): Promise<void> {
    return this.client.close();
  }
}

export interface LoaderDeps {
  client: ZStackClient;
  /** The caller's session; loads fail with UNAUTHENTICATED without one (resolvers check first). */
  session: string | undefined;
  signal?: CallerSignal;
  /** The operation's deadline (absolute ms). */
  deadline?: number;
  /** CallOptions.tag of every load. */
  tag?: unknown;
  /** Rows per history page (tests use a small one to exercise paging). */
  historyPageSize?: number;
  /**
   * The operation's calls in flight (its client wrapped by it), so names wait for the rest of the
   * operation; without one, names go out a macrotask after the first is asked for.
   */
  calls?: CallTracker;
  /**
   * The operation's budget (its client counted by it): names past its MAX_NAMED_UUIDS_PER_OPERATION
   * are refused without a call; without one, every name is looked up.
   */
  budget?: OperationBudget;
}

const ZSTACK_UUID = /^[0-9a-f]{32}$/;

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
  return new RequestLoaders(deps);
}

/** The call options of every load; refuses without a session (resolvers check first). */
function loadOptions(deps: LoaderDeps): CallOptions & { session: string } {
  if (!deps.session) throw unauthenticated();
  return {
    session: deps.session,
    signal: deps.signal,
    deadline: deps.deadline,
    tag: deps.tag,
    answerBytes: deps.budget,
  };
}

function byUuid<T extends { uuid: string }>(deps: LoaderDeps, fetch: Fetch<T>): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(
    async (keys) => {
      const reply = await fetch(
        deps.client,
        { conditions: [{ field: 'uuid', op: '?=', value: keys }], limit: keys.length },
        loadOptions(deps),
      );
      const found = new Map<string, T>();
      for (const row of reply.inventories ?? []) found.set(row.uuid, row);
      return keys.map((key) => found.get(key) ?? null);
    },
    { maxBatchSize: MAX_UUIDS_PER_QUERY },
  );
}

function histories<T extends ApiTicketStatusHistory>(
  deps: LoaderDeps,
  fetch: Fetch<T>,
): DataLoader<string, T[]> {
  const pageSize = deps.historyPageSize ?? HISTORY_PAGE_SIZE;
  return new DataLoader<string, T[]>(
    async (keys) => {
      const opts = loadOptions(deps);
      const rows: T[] = [];
      // Sorted by uuid (a total order) so that offset pages neither skip nor repeat rows.
      for (let start = 0; ; start += pageSize) {
        const reply = await fetch(
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
      const byTicket = new Map<string, T[]>(keys.map((k) => [k, []]));
      for (const row of rows) {
        if (row.ticketUuid !== undefined) byTicket.get(row.ticketUuid)?.push(row);
      }
      return keys.map((key) => sortHistory(byTicket.get(key) ?? []));
    },
    { maxBatchSize: MAX_UUIDS_PER_QUERY },
  );
}

/** The error of every name and type past the operation's MAX_NAMED_UUIDS_PER_OPERATION (one object per batch). */
function nameLimitError(limit: number): GraphQLError {
  return new GraphQLError(
    `Name limit of ${limit} distinct uuids per operation reached: this uuid was not looked up.`,
    { extensions: { code: ErrorCode.NAME_LIMIT_EXCEEDED, limit } },
  );
}

function names(deps: LoaderDeps): DataLoader<string, ApiResourceName | null> {
  const calls = deps.calls;
  return new DataLoader<string, ApiResourceName | null>(
    async (keys) => {
      // Only a ZStack uuid can have a name; anything else is answered null without asking.
      const uuids = keys.filter((k) => ZSTACK_UUID.test(k));
      // Keys reach here once each (the loader caches them), so the budget counts distinct uuids.
      const granted = deps.budget ? deps.budget.takeNames(uuids.length) : uuids.length;
      const asked = uuids.slice(0, granted);
      const refused = new Set(uuids.slice(granted));
      const found = new Map<string, ApiResourceName>();
      if (asked.length > 0) {
        for (const row of await getResourceNames(deps.client, asked, loadOptions(deps))) {
          found.set(row.uuid.toLowerCase(), row);
        }
      }
      const overLimit = refused.size > 0 ? nameLimitError(deps.budget?.maxNamedUuids ?? 0) : undefined;
      return keys.map((key) => (overLimit && refused.has(key) ? overLimit : (found.get(key) ?? null)));
    },
    {
      maxBatchSize: MAX_UUIDS_PER_NAMES_CALL,
      cacheKeyFn: (key) => key.toLowerCase(),
      batchScheduleFn: calls ? (dispatch) => calls.whenIdle(dispatch) : (dispatch) => setImmediate(dispatch),
    },
  );
}

/**
 * The loaders of one request, each made on first use: most operations need one loader or none (a
 * mutation only primes tickets). A class, so a request costs one small object, not a set of closures.
 */
class RequestLoaders implements Loaders {
  private tickets: Loaders['ticketByUuid'] | undefined;
  private historiesLoader: Loaders['historiesByTicketUuid'] | undefined;
  private ticketTypes: Loaders['ticketTypeByUuid'] | undefined;
  private flowCollections: Loaders['flowCollectionByUuid'] | undefined;
  private archivedHistories: Loaders['archivedHistoriesByTicketUuid'] | undefined;
  private historyRows: Loaders['ticketHistoryByUuid'] | undefined;
  private flows: Loaders['flowByUuid'] | undefined;
  private archivedTickets: Loaders['archivedTicketByUuid'] | undefined;
  private archivedHistoryRows: Loaders['archivedHistoryByUuid'] | undefined;
  private resources: Loaders['resourceByUuid'] | undefined;
  constructor(private readonly deps: LoaderDeps) {}
  get ticketByUuid() {
    this.tickets ??= byUuid<ApiTicket>(this.deps, queryTickets);
    return this.tickets;
  }
  get historiesByTicketUuid() {
    this.historiesLoader ??= histories<ApiTicketStatusHistory>(this.deps, queryTicketHistories);
    return this.historiesLoader;
  }
  get ticketTypeByUuid() {
    this.ticketTypes ??= byUuid<ApiTicketType>(this.deps, queryTicketTypes);
    return this.ticketTypes;
  }
  get flowCollectionByUuid() {
    this.flowCollections ??= byUuid<ApiTicketFlowCollection>(this.deps, queryTicketFlowCollections);
    return this.flowCollections;
  }
  get archivedHistoriesByTicketUuid() {
    this.archivedHistories ??= histories<ApiArchiveTicketStatusHistory>(
      this.deps,
      queryArchiveTicketHistories,
    );
    return this.archivedHistories;
  }
  get ticketHistoryByUuid() {
    this.historyRows ??= byUuid<ApiTicketStatusHistory>(this.deps, queryTicketHistories);
    return this.historyRows;
  }
  get flowByUuid() {
    this.flows ??= byUuid<ApiTicketFlow>(this.deps, queryTicketFlows);
    return this.flows;
  }
  get archivedTicketByUuid() {
    this.archivedTickets ??= byUuid<ApiArchiveTicket>(this.deps, queryArchiveTickets);
    return this.archivedTickets;
  }
  get archivedHistoryByUuid() {
    this.archivedHistoryRows ??= byUuid<ApiArchiveTicketStatusHistory>(
      this.deps,
      queryArchiveTicketHistories,
    );
    return this.archivedHistoryRows;
  }
  get resourceByUuid() {
    this.resources ??= names(this.deps);
    return this.resources;
  }
  forgetTicket(uuid: string): void {
    this.tickets?.clear(uuid);
    this.historiesLoader?.clear(uuid);
  }
}

/** Milliseconds for ordering only: every date of one ZStack is in the same zone, so UTC orders them right. */
function orderingTime(value: string | undefined): number {
  if (value === undefined) return Number.NEGATIVE_INFINITY;
  return parseJavaDate(value, 'UTC')?.getTime() ?? Number.NEGATIVE_INFINITY;
}

/** History in the order it happened: by sequence (newer ZStacks), then by creation date. */
export function sortHistory<T extends ApiTicketStatusHistory>(rows: T[]): T[] {
  return rows
    .map((row) => ({ row, seq: row.sequence ?? Number.NEGATIVE_INFINITY, at: orderingTime(row.createDate) }))
    .sort((a, b) => a.seq - b.seq || a.at - b.at)
    .map((x) => x.row);
}
