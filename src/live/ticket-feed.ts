/**
 * Live ticket changes for `ticketUpdated` streams. ZStack has no push for tickets, so each session
 * with open streams polls: ONE query per interval, whatever the number of streams or filters. The
 * query asks for the tickets the session can see that changed since the last poll (by lastOpDate);
 * every stream's filter is then applied in memory (src/live/ticket-filter.ts).
 * With a share (REDIS_URL, src/live/cluster.ts), that one query runs on one instance at a time, whose
 * changes reach the others' streams, and mutations through any instance are pushed on every instance.
 */
import { createHash } from 'node:crypto';
import type { CallerSignal } from '../zstack/call-types.js';
import type { ZStackClient } from '../zstack/client.js';
import { ZStackApiError, ZStackResponseTooLargeError } from '../zstack/errors.js';
import { MAX_UUIDS_PER_QUERY, type QueryParams } from '../zstack/query.js';
import { queryTickets } from '../zstack/tickets.js';
import type { ApiTicket } from '../zstack/types.js';
import type { FeedChange, FeedEntry, FeedShare } from './cluster.js';
import { queryDateOf, type TicketFilter, ticketFingerprint, ticketMatches } from './ticket-filter.js';

export type { TicketFilter } from './ticket-filter.js';

/** Time as an input: the real clock and timers by default, a manual one in tests. */
export interface FeedTimer {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimer: FeedTimer = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Which cap refused a stream: the caller's session, its account, its client address, or the whole gateway. */
export type FeedLimitScope = 'session' | 'account' | 'client' | 'total';

const LIMIT_MESSAGES: Record<FeedLimitScope, (limit: number) => string> = {
  session: (n) =>
    `This session already has ${n} open ticketUpdated streams (MAX_TICKET_SUBSCRIPTIONS_PER_SESSION).`,
  account: (n) =>
    `This account already has ${n} open ticketUpdated streams, all its sessions together (MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT).`,
  client: (n) =>
    `This client address already has ${n} open ticketUpdated streams (MAX_TICKET_SUBSCRIPTIONS_PER_CLIENT).`,
  total: (n) => `The gateway already serves ${n} ticketUpdated streams (MAX_TICKET_SUBSCRIPTIONS).`,
};

/** A stream refused by a cap: `scope` says which. */
export class FeedLimitError extends Error {
  constructor(
    readonly scope: FeedLimitScope,
    readonly limit: number,
  ) {
    super(LIMIT_MESSAGES[scope](limit));
    this.name = 'FeedLimitError';
  }
}

/**
 * Where a stream's events go (the HTTP response): how many bytes written to it are still unsent to
 * the client, and how to cut it (close its connection).
 */
export interface StreamSink {
  buffered(): number;
  cut(): void;
}

/** Who opens a stream, beyond its session: for the per-address cap and the slow-reader bound. */
export interface StreamCaller {
  /** The client's address (the TCP peer); undefined = not counted per address. */
  address?: string | undefined;
  /** The response the stream is written to; undefined = never cut for not reading. */
  sink?: StreamSink | undefined;
}

/**
 * Most events one stream may have waiting for its client to take them: past it the stream is cut
 * as a client that does not read (twice what one poll can bring at once).
 */
export const MAX_QUEUED_EVENTS = 1000;

/** Most sessions whose account the feed remembers (from logIn answers); the least recent go first. */
const MAX_KNOWN_SESSIONS = 50_000;

export interface TicketFeedOptions {
  /** How often a session with open streams polls ZStack. */
  intervalMs: number;
  /** Most open streams per session (MAX_TICKET_SUBSCRIPTIONS_PER_SESSION). */
  maxPerSession: number;
  /** Most open streams in all (MAX_TICKET_SUBSCRIPTIONS). */
  maxTotal: number;
  /** Most open streams of one account, all its sessions together; 0 or unset = no cap. */
  maxPerAccount?: number;
  /** Most open streams from one client address; 0 or unset = no cap. */
  maxPerClient?: number;
  /**
   * A stream is cut when an event is ready while more than this many bytes written to its response
   * are still unsent to its client (STREAM_MAX_BUFFERED_BYTES); unset = never.
   */
  maxBufferedBytes?: number;
  /** A stream was cut for not reading (logged by the caller). */
  onCut?: (info: { bufferedBytes: number; queuedEvents: number }) => void;
  timer?: FeedTimer;
  /** A fault while polling or serving one ticket: logged by the caller; the feed goes on. */
  onError?: (err: unknown, what: string) => void;
  /** Shares polls and pushes with other instances (Redis); unset = this instance alone. */
  share?: FeedShare | undefined;
}

export interface TicketFeed {
  /**
   * Changes of the tickets matching `filter`, as seen with `session`, until `signal` aborts, the
   * iterator is returned or the feed drains. Only changes after the stream opened are emitted.
   * Throws FeedLimitError past a cap, before any upstream call. A stream whose client does not read
   * (see TicketFeedOptions.maxBufferedBytes and MAX_QUEUED_EVENTS) is cut through `caller.sink`.
   */
  subscribe(
    session: string,
    filter: TicketFilter,
    signal: CallerSignal,
    caller?: StreamCaller,
  ): AsyncIterableIterator<ApiTicket>;
  /**
   * The account a session belongs to, as ZStack's login answer said (logIn through this gateway):
   * its streams then count against MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT.
   */
  noteAccount(session: string, accountUuid: string | undefined): void;
  /** The session was logged out: its account is forgotten. */
  forgetSession(session: string): void;
  /**
   * A ticket as this gateway's own mutation left it: pushed at once to that session's streams that
   * match it. Another session's watch never gets this copy (it may not see the ticket): alone, those
   * with a stream matching it refresh early, at most once per WAKE_MIN_GAP_MS; shared, they read that
   * ticket under their own session at once (at most once per READ_MIN_GAP_MS), on every instance.
   */
  publish(session: string, ticket: ApiTicket): void;
  /**
   * An entry another instance appended to the shared log (src/live/cluster.ts): the named states this
   * instance lacks are read from ZStack and emitted; a poll's watermark is taken.
   */
  received(entry: FeedEntry): void;
  /** Redis answers again after a fault: every session polls here once, from where it stands. */
  catchUp(): void;
  /** Open streams, in all. */
  readonly size: number;
  /** Ends every open stream (SSE `complete`) and refuses new ones: the gateway is shutting down. */
  drain(): void;
  close(): void;
}

/** Most changed tickets one poll fetches; more are picked up by the next polls (oldest first). */
export const MAX_CHANGES_PER_POLL = 500;
/** The first poll of a session only learns where "now" is: the newest few tickets. */
const BASELINE_ROWS = 50;
/** An early refresh (another session's mutation) comes at most this often per session. */
export const WAKE_MIN_GAP_MS = 1000;
/**
 * How long a session's poll lease lasts without renewal: its holder renews it at every poll (once an
 * interval), and an instance waiting for it tries again when it runs out, so a holder that died is
 * replaced within one interval and a second of its last poll.
 */
export function pollLeaseMs(intervalMs: number): number {
  return intervalMs + 1000;
}
/** Before anything was seen: every ticket that appears later is a change. */
const EPOCH = '1970-01-01 00:00:00';

/** Where a session's poll loop stands: all the next poll's delay depends on. */
export interface FeedPollState {
  nowMs: number;
  /** When the last poll started; undefined before the first. */
  lastPollAtMs: number | undefined;
  intervalMs: number;
  /** Another session's mutation changed a ticket one of this session's streams matches. */
  woken: boolean;
  /** Shared: another instance's lease on the session runs out in this many ms. */
  leaseFreeInMs?: number | undefined;
  /** Redis answers again after a fault: poll at once. */
  catchUp?: boolean;
}

/**
 * The delay before a session's next poll: at once for the first and for a catch-up; then one interval
 * after the last poll started; woken by another session's mutation, after min(interval,
 * WAKE_MIN_GAP_MS); waiting for another instance's lease, no later than just after it runs out. So a
 * session polls at most once per interval plus once per WAKE_MIN_GAP_MS when woken. Pure.
 */
export function nextFeedPollDelayMs(s: FeedPollState): number {
  if (s.lastPollAtMs === undefined || s.catchUp) return 0;
  const gap = s.woken ? Math.min(s.intervalMs, WAKE_MIN_GAP_MS) : s.intervalMs;
  const due = Math.max(0, s.lastPollAtMs + gap - s.nowMs);
  if (s.leaseFreeInMs === undefined) return due;
  // The lease was read at the last poll's start: it runs out that much later (plus a few ms).
  return Math.min(due, Math.max(0, s.lastPollAtMs + s.leaseFreeInMs + LEASE_SLACK_MS - s.nowMs));
}

/** A waiting instance claims this long after the holder's lease should have run out. */
const LEASE_SLACK_MS = 5;

/**
 * The one query of a session's poll: the newest tickets first time, then those changed since `since`,
 * at most `limit` (fewer while answers come back over ZSTACK_MAX_RESPONSE_BYTES).
 */
export function feedQuery(since: string | undefined, limit = MAX_CHANGES_PER_POLL): QueryParams {
  if (since === undefined)
    return { sort: { field: 'lastOpDate', direction: 'desc' }, limit: Math.min(BASELINE_ROWS, limit) };
  return {
    conditions: [{ field: 'lastOpDate', op: '>=', value: since }],
    sort: { field: 'lastOpDate', direction: 'asc' },
    limit,
  };
}

/**
 * The next poll's page size after one poll: halved after an answer over ZSTACK_MAX_RESPONSE_BYTES
 * (big tickets: fewer a poll, the rest at the next ones), doubled back after a good one. Pure.
 */
export function nextPollLimit(limit: number, tooLarge: boolean): number {
  return tooLarge ? Math.max(1, Math.floor(limit / 2)) : Math.min(MAX_CHANGES_PER_POLL, limit * 2);
}

/**
 * Most tickets read in one call after the shared log named them (big tickets: fewer, see reread).
 * Changes named together are read together: one upstream read per session per burst.
 */
const REREAD_BATCH = 50;
/**
 * Reads of named tickets start at most this often per session (on each instance): a burst of
 * changes costs one read, and a storm of them at most 20 reads a second, never one read per change.
 */
export const READ_MIN_GAP_MS = 50;

/** One stream: a queue its iterator drains. */
class Subscriber implements AsyncIterableIterator<ApiTicket> {
  private readonly queue: ApiTicket[] = [];
  private waiting: ((r: IteratorResult<ApiTicket>) => void) | undefined;
  private failWaiting: ((e: unknown) => void) | undefined;
  private failure: unknown;
  done = false;

  constructor(
    readonly filter: TicketFilter,
    private readonly onEnd: (s: Subscriber) => void,
    /** Cuts the stream when its client does not read; unset = never. */
    private readonly slow?: (queued: number) => boolean,
  ) {}

  push(ticket: ApiTicket): void {
    if (this.done) return;
    // Before this event is rendered: a client still holding earlier bytes unread is cut instead.
    if (this.slow?.(this.queue.length + 1)) {
      this.end();
      return;
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: ticket, done: false });
      return;
    }
    this.queue.push(ticket);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = undefined;
      this.failure = undefined;
      reject(error);
    }
    this.end();
  }

  next(): Promise<IteratorResult<ApiTicket>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<ApiTicket>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    const resolve = this.waiting;
    this.waiting = this.failWaiting = undefined;
    resolve?.({ value: undefined, done: true });
    this.onEnd(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ApiTicket> {
    return this;
  }
}

/**
 * A ticket's state as a short digest: what `seen` keeps, and what an entry of the shared log names a
 * state by (so an instance that has it already neither reads nor emits it again), without carrying
 * ticket data.
 */
export function stateDigest(ticket: ApiTicket): string {
  return createHash('sha256').update(ticketFingerprint(ticket)).digest('base64url').slice(0, 22);
}

/** A ticket as the shared log names it: uuid, the fields filters read, lastOpDate, digest. */
export function changeOf(ticket: ApiTicket): FeedChange {
  const change: FeedChange = { uuid: ticket.uuid, fp: stateDigest(ticket) };
  const source = ticket as unknown as Record<string, unknown>;
  for (const field of CHANGE_FIELDS) {
    const value = source[field];
    if (typeof value === 'string') change[field] = value;
  }
  return change;
}

const CHANGE_FIELDS = [
  'status',
  'name',
  'ticketTypeUuid',
  'flowCollectionUuid',
  'accountSystemType',
  'lastOpDate',
] as const;

/** Most fingerprints a session keeps (tickets at the watermark second and pushed ones). */
const MAX_SEEN = 10_000;

/** All streams of one session: one poll loop, whatever the number of streams or filters. */
class SessionWatch {
  readonly subscribers = new Set<Subscriber>();
  /** The lastOpDate (query form) up to which changes were seen; undefined before the first poll. */
  private since: string | undefined;
  /** Fingerprint and query-form lastOpDate of tickets at or after `since` already emitted or seen. */
  private readonly seen = new Map<string, { fingerprint: string; at: string }>();
  /**
   * The guard: per ticket, the query-form lastOpDate of the newest state taken. A state older than
   * it (a late answer, a replayed entry) is dropped, so no stream gets an older state after a newer.
   */
  private readonly latest = new Map<string, { at: string; fingerprint: string }>();
  private timer: unknown;
  private polling = false;
  private lastPollAt: number | undefined;
  private woken = false;
  private stopped = false;
  /** This instance held the session's poll lease at its last poll (shared mode). */
  private leader = false;
  /** Another instance holds the lease: when it runs out (shared mode). */
  private leaseFreeInMs: number | undefined;
  /** Poll here at once, lease or not (Redis answers again after a fault). */
  private catchingUp = false;
  /** Page size of the next poll (see nextPollLimit). */
  private pollLimit = MAX_CHANGES_PER_POLL;
  /** Changed tickets named by the shared log (or another session's mutation): to read from ZStack. */
  private readonly toReread = new Set<string>();
  private rereading = false;
  private readTimer: unknown;
  private lastReadAt: number | undefined;

  constructor(
    readonly session: string,
    /** The session's name among instances (HMAC of the token); undefined when alone. */
    readonly key: string | undefined,
    private readonly client: ZStackClient,
    private readonly options: Required<Pick<TicketFeedOptions, 'intervalMs' | 'onError'>> & {
      timer: FeedTimer;
      share: FeedShare | undefined;
    },
    private readonly onEmpty: (w: SessionWatch) => void,
  ) {}

  add(filter: TicketFilter, onEnd: () => void, slow?: (queued: number) => boolean): Subscriber {
    const subscriber = new Subscriber(
      filter,
      (s) => {
        this.remove(s);
        onEnd();
      },
      slow,
    );
    this.subscribers.add(subscriber);
    if (this.timer === undefined && !this.polling) this.schedule();
    return subscriber;
  }

  private remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.stop();
  }

  /** Whether one of this session's streams matches the ticket. */
  matches(ticket: ApiTicket): boolean {
    for (const s of this.subscribers) if (ticketMatches(s.filter, ticket)) return true;
    return false;
  }

  /** Whether one of this session's streams may match the named state (a partial one: by uuid only). */
  private mayMatch(change: FeedChange): boolean {
    if (!change.partial) return this.matches(change as unknown as ApiTicket);
    const uuid = change.uuid.toLowerCase();
    for (const s of this.subscribers)
      if (s.filter.uuids === undefined || s.filter.uuids.has(uuid)) return true;
    return false;
  }

  /** A ticket this session itself changed: emitted now to its matching streams, not again by a poll. */
  deliver(ticket: ApiTicket): void {
    try {
      this.consider(ticket);
    } catch (err) {
      this.options.onError(err, 'ticket feed could not push one ticket; skipped');
    }
  }

  /** Alone: another session changed a ticket this session's streams match: refresh early (bounded). */
  wake(): void {
    if (this.woken || this.stopped) return;
    this.woken = true;
    if (!this.polling) this.schedule();
  }

  /** Redis answers again after a fault: poll here now, lease or not, from where this instance stands. */
  catchUp(): void {
    if (this.stopped) return;
    this.catchingUp = true;
    if (!this.polling) this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const { timer, intervalMs } = this.options;
    if (this.timer !== undefined) timer.clearTimeout(this.timer);
    const delay = nextFeedPollDelayMs({
      nowMs: timer.now(),
      lastPollAtMs: this.lastPollAt,
      intervalMs,
      woken: this.woken,
      leaseFreeInMs: this.leaseFreeInMs,
      catchUp: this.catchingUp,
    });
    this.timer = timer.setTimeout(() => void this.poll(), delay);
  }

  stop(): void {
    if (this.leader && this.key !== undefined) this.options.share?.release(this.key);
    this.leader = false;
    this.stopped = true;
    if (this.timer !== undefined) this.options.timer.clearTimeout(this.timer);
    if (this.readTimer !== undefined) this.options.timer.clearTimeout(this.readTimer);
    this.timer = this.readTimer = undefined;
    this.onEmpty(this);
  }

  endAll(): void {
    for (const s of [...this.subscribers]) s.end();
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.polling = true;
    this.woken = false;
    const catchingUp = this.catchingUp;
    this.catchingUp = false;
    this.lastPollAt = this.options.timer.now();
    try {
      // Re-reads that failed before are tried again once an interval until they succeed.
      if (this.toReread.size > 0) {
        await this.reread().catch((err: unknown) => {
          this.options.onError(err, 'ticket feed could not re-read shared tickets; retrying next interval');
        });
      }
      if ((await this.polledElsewhere()) && !catchingUp) return;
      const query = feedQuery(this.since, this.pollLimit);
      const reply = await queryTickets(this.client, query, { session: this.session });
      this.pollLimit = nextPollLimit(this.pollLimit, false);
      this.take(reply.inventories ?? []);
    } catch (err) {
      // A session ZStack no longer accepts ends every stream of it; other faults are retried.
      if (err instanceof ZStackApiError && err.errorCode.code.startsWith('ID.100')) {
        for (const s of [...this.subscribers]) s.fail(err);
        return;
      }
      if (err instanceof ZStackResponseTooLargeError) this.pollLimit = nextPollLimit(this.pollLimit, true);
      this.options.onError(err, 'ticket feed poll failed; retrying next interval');
    } finally {
      this.polling = false;
      if (!this.stopped) this.schedule();
    }
  }

  /**
   * Shared: whether another instance holds this session's poll lease (then its results arrive through
   * the shared log, and its watermark moves this instance's on). Redis not answering means polling
   * here, as when alone. Never awaits when alone.
   */
  private async polledElsewhere(): Promise<boolean> {
    const { share, intervalMs } = this.options;
    this.leaseFreeInMs = undefined;
    if (share === undefined || this.key === undefined) return false;
    try {
      const lease = await share.claim(this.key, pollLeaseMs(intervalMs));
      this.leader = lease.mine;
      if (!lease.mine) this.leaseFreeInMs = lease.retryInMs;
    } catch {
      this.leader = false;
      return false;
    }
    if (this.stopped && this.leader) {
      share.release(this.key);
      this.leader = false;
    }
    if (this.stopped) return true;
    // Its first poll every instance makes itself: its own starting point, so that taking over (or
    // polling alone while Redis fails) later finds every change since this stream opened.
    return !this.leader && this.since !== undefined;
  }

  /**
   * An entry of the shared log. `own`: this session's (a mutation through another instance, or a poll
   * of it): every named state this instance does not have yet and one of its streams may match is read
   * from ZStack and emitted; the others are noted as seen; the watermark moves on. Otherwise, another
   * session's mutation: states one of this session's streams may match are read under this session
   * (which also says whether it may see them at all).
   */
  takeEntry(entry: FeedEntry, own: boolean): void {
    if (this.stopped) return;
    for (const change of entry.changes) {
      const at = queryDateOf(change.lastOpDate) ?? this.since ?? EPOCH;
      if (this.seen.get(change.uuid)?.fingerprint === change.fp || this.stale(change.uuid, at, change.fp))
        continue;
      if (this.mayMatch(change)) this.named(change.uuid);
      else if (own) this.note(change.uuid, change.fp, at);
    }
    if (own && entry.since !== undefined && this.since !== undefined && entry.since > this.since) {
      this.since = entry.since;
      for (const [uuid, seen] of this.seen) if (seen.at < entry.since) this.seen.delete(uuid);
    }
    this.readSoon();
  }

  /** Another session's mutation through this instance changed a ticket a stream here matches. */
  readLater(uuid: string): void {
    if (this.stopped) return;
    this.named(uuid);
    this.readSoon();
  }

  /** A ticket to read; past MAX_SEEN waiting (ZStack away for long) more are dropped: memory stays bounded. */
  private named(uuid: string): void {
    if (this.toReread.size < MAX_SEEN) this.toReread.add(uuid);
  }

  /**
   * Reads the named tickets now, or once READ_MIN_GAP_MS has passed since the last read began; what
   * is named meanwhile goes in that one read.
   */
  private readSoon(): void {
    if (this.stopped || this.toReread.size === 0 || this.rereading || this.readTimer !== undefined) return;
    const { timer } = this.options;
    const delay =
      this.lastReadAt === undefined ? 0 : Math.max(0, this.lastReadAt + READ_MIN_GAP_MS - timer.now());
    const run = () => {
      this.readTimer = undefined;
      this.lastReadAt = timer.now();
      // A failed read is not retried here (ZStack may be down): the next poll interval retries it.
      this.readBatch().then(
        () => this.readSoon(),
        (err: unknown) => {
          this.options.onError(err, 'ticket feed could not re-read shared tickets; retrying next interval');
        },
      );
    };
    if (delay === 0) run();
    else this.readTimer = timer.setTimeout(run, delay);
  }

  /** Reads every named ticket (the poll's retry of failed reads). */
  private async reread(): Promise<void> {
    while (this.toReread.size > 0 && !this.stopped && !this.rereading) {
      if (!(await this.readBatch())) return;
    }
  }

  /**
   * Reads one batch of the named tickets with this session and emits them as any change; false when
   * another read is running. Over ZSTACK_MAX_RESPONSE_BYTES it asks for fewer; one ticket alone that
   * big cannot be shown at all and is skipped. A failed read stays named for the next try.
   */
  private async readBatch(): Promise<boolean> {
    if (this.rereading) return false;
    this.rereading = true;
    let batch = Math.min(REREAD_BATCH, MAX_UUIDS_PER_QUERY);
    try {
      while (this.toReread.size > 0 && !this.stopped) {
        const uuids = [...this.toReread].slice(0, batch);
        let rows: ApiTicket[];
        try {
          const query: QueryParams = {
            conditions: [{ field: 'uuid', op: '?=', value: uuids }],
            limit: uuids.length,
          };
          rows = (await queryTickets(this.client, query, { session: this.session })).inventories ?? [];
        } catch (err) {
          if (err instanceof ZStackResponseTooLargeError && batch > 1) {
            batch = Math.max(1, Math.floor(batch / 2));
            continue;
          }
          if (err instanceof ZStackResponseTooLargeError) {
            this.toReread.delete(uuids[0] as string);
            this.options.onError(
              err,
              'ticket feed skipped a shared ticket larger than ZSTACK_MAX_RESPONSE_BYTES',
            );
            continue;
          }
          throw err;
        }
        // A uuid ZStack no longer returns (deleted, or not visible to the session) is done.
        for (const uuid of uuids) this.toReread.delete(uuid);
        for (const ticket of rows) this.deliver(ticket);
        return true;
      }
      return true;
    } finally {
      this.rereading = false;
    }
  }

  /**
   * Shared: a poll's changes go into the shared log, then the watermark it reached (never for the
   * first poll, whose tickets are not changes: another instance must not skip what it has not seen).
   * Appended whoever polled (the lease holder, or this instance alone while Redis failed), so the
   * others always get what a poll found; the log keeps the order, so no instance moves its watermark
   * past a change before it has that change.
   */
  private share(since: string, changed: ApiTicket[]): void {
    if (this.key === undefined || this.options.share === undefined) return;
    if (changed.length === 0 && since === this.sharedSince) return;
    this.sharedSince = since;
    this.options.share.append({ kind: 'poll', key: this.key, since, changes: changed.map(changeOf) });
  }
  private sharedSince: string | undefined;

  /** One poll's tickets: the first sets the baseline, later ones are changes (one bad ticket skips alone). */
  private take(tickets: readonly ApiTicket[]): void {
    if (this.since === undefined) {
      const newest = tickets.length > 0 ? queryDateOf(tickets[0]?.lastOpDate) : undefined;
      this.since = newest ?? EPOCH;
      for (const ticket of tickets) {
        const at = queryDateOf(ticket.lastOpDate);
        if (at === this.since) this.remember(ticket, at);
      }
      this.sharedSince = this.since;
      return;
    }
    let newest = this.since;
    const changed: ApiTicket[] = [];
    for (const ticket of tickets) {
      try {
        const at = this.consider(ticket, changed);
        if (at !== undefined && at > newest) newest = at;
      } catch (err) {
        this.options.onError(err, 'ticket feed could not serve one ticket; skipped');
      }
    }
    this.since = newest;
    // What is older than the watermark will not come back from the next query.
    for (const [uuid, entry] of this.seen) if (entry.at < newest) this.seen.delete(uuid);
    this.share(newest, changed);
  }

  private remember(ticket: ApiTicket, at: string): void {
    this.note(ticket.uuid, stateDigest(ticket), at);
  }

  /** The guard: older than the newest state taken of this ticket, or that very state again. */
  private stale(uuid: string, at: string, fingerprint: string): boolean {
    const newest = this.latest.get(uuid);
    return (
      newest !== undefined && (at < newest.at || (at === newest.at && fingerprint === newest.fingerprint))
    );
  }

  /** A state taken (emitted or known): seen, and the newest for the guard. */
  private note(uuid: string, fingerprint: string, at: string): void {
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    this.seen.set(uuid, { fingerprint, at });
    const newest = this.latest.get(uuid);
    if (newest === undefined || at >= newest.at) {
      this.latest.delete(uuid);
      if (this.latest.size >= MAX_SEEN) {
        for (const oldest of this.latest.keys()) {
          this.latest.delete(oldest);
          break;
        }
      }
      this.latest.set(uuid, { at, fingerprint });
    }
  }

  /**
   * Emits the ticket to matching streams when it differs from what was seen and is not older than the
   * newest state taken (and adds it to `changed`); returns its query date.
   */
  private consider(ticket: ApiTicket, changed?: ApiTicket[]): string | undefined {
    if (typeof ticket.uuid !== 'string') return undefined;
    const at = queryDateOf(ticket.lastOpDate) ?? this.since ?? EPOCH;
    const fingerprint = stateDigest(ticket);
    if (this.seen.get(ticket.uuid)?.fingerprint === fingerprint || this.stale(ticket.uuid, at, fingerprint))
      return at;
    this.remember(ticket, at);
    changed?.push(ticket);
    for (const s of this.subscribers) if (ticketMatches(s.filter, ticket)) s.push(ticket);
    return at;
  }
}

/** Polls ZStack for ticket changes: one loop and one query per interval per session with streams. */
export function createTicketFeed(client: ZStackClient, options: TicketFeedOptions): TicketFeed {
  const watches = new Map<string, SessionWatch>();
  /** The same watches by their key among instances (shared mode). */
  const byKey = new Map<string, SessionWatch>();
  const timer = options.timer ?? realTimer;
  const onError = options.onError ?? (() => {});
  const share = options.share;
  let total = 0;
  let draining = false;
  /** Session → account uuid, least recently noted first. */
  const accounts = new Map<string, string>();
  const perAccount = new Map<string, number>();
  const perClient = new Map<string, number>();
  const maxPerAccount = options.maxPerAccount ?? 0;
  const maxPerClient = options.maxPerClient ?? 0;
  const maxBufferedBytes = options.maxBufferedBytes;

  const countOf = (map: Map<string, number>, key: string | undefined) =>
    key === undefined ? 0 : (map.get(key) ?? 0);
  const bump = (map: Map<string, number>, key: string | undefined, by: 1 | -1) => {
    if (key === undefined) return;
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };

  /** The slow-reader check of one stream: true = cut (the sink is cut here). */
  function slowCheck(sink: StreamSink | undefined): ((queued: number) => boolean) | undefined {
    if (sink === undefined || maxBufferedBytes === undefined) return undefined;
    return (queued) => {
      const bufferedBytes = sink.buffered();
      if (bufferedBytes <= maxBufferedBytes && queued <= MAX_QUEUED_EVENTS) return false;
      options.onCut?.({ bufferedBytes, queuedEvents: queued - 1 });
      sink.cut();
      return true;
    };
  }

  function watchOf(session: string): SessionWatch {
    let watch = watches.get(session);
    if (!watch) {
      const key = share?.keyOf(session);
      const settings = { intervalMs: options.intervalMs, onError, timer, share };
      watch = new SessionWatch(session, key, client, settings, (w) => {
        if (watches.get(w.session) === w) watches.delete(w.session);
        if (w.key !== undefined && byKey.get(w.key) === w) byKey.delete(w.key);
      });
      watches.set(session, watch);
      if (key !== undefined) byKey.set(key, watch);
    }
    return watch;
  }

  return {
    subscribe(session, filter, signal, caller = {}) {
      if (draining) {
        const ended = new Subscriber(filter, () => {});
        ended.end();
        return ended;
      }
      const existing = watches.get(session);
      if ((existing?.subscribers.size ?? 0) >= options.maxPerSession)
        throw new FeedLimitError('session', options.maxPerSession);
      const account = maxPerAccount > 0 ? accounts.get(session) : undefined;
      if (account !== undefined && countOf(perAccount, account) >= maxPerAccount)
        throw new FeedLimitError('account', maxPerAccount);
      const address = maxPerClient > 0 ? caller.address : undefined;
      if (address !== undefined && countOf(perClient, address) >= maxPerClient)
        throw new FeedLimitError('client', maxPerClient);
      if (total >= options.maxTotal) throw new FeedLimitError('total', options.maxTotal);
      const watch = watchOf(session);
      total++;
      bump(perAccount, account, 1);
      bump(perClient, address, 1);
      const subscriber = watch.add(
        filter,
        () => {
          total--;
          bump(perAccount, account, -1);
          bump(perClient, address, -1);
        },
        slowCheck(caller.sink),
      );
      if (signal.aborted) subscriber.end();
      else signal.addEventListener('abort', () => subscriber.end(), { once: true });
      return subscriber;
    },
    publish(session, ticket) {
      for (const watch of watches.values()) {
        if (watch.session === session) watch.deliver(ticket);
        else if (!watch.matches(ticket)) continue;
        // Shared: read at once under that session; alone: an early poll, as before.
        else if (share !== undefined) watch.readLater(ticket.uuid);
        else watch.wake();
      }
      if (share !== undefined)
        share.append({ kind: 'mutation', key: share.keyOf(session), changes: [changeOf(ticket)] });
    },
    received(entry) {
      if (draining) return;
      for (const watch of watches.values()) {
        if (watch.key === entry.key) watch.takeEntry(entry, true);
        else if (entry.kind === 'mutation') watch.takeEntry(entry, false);
      }
    },
    catchUp() {
      if (draining) return;
      for (const watch of watches.values()) watch.catchUp();
    },
    noteAccount(session, accountUuid) {
      if (accountUuid === undefined) return;
      accounts.delete(session);
      accounts.set(session, accountUuid);
      if (accounts.size > MAX_KNOWN_SESSIONS) {
        for (const oldest of accounts.keys()) {
          accounts.delete(oldest);
          break;
        }
      }
    },
    forgetSession(session) {
      accounts.delete(session);
    },
    get size() {
      return total;
    },
    drain() {
      draining = true;
      for (const watch of [...watches.values()]) watch.endAll();
    },
    close() {
      draining = true;
      for (const watch of [...watches.values()]) {
        watch.endAll();
        watch.stop();
      }
      watches.clear();
      byKey.clear();
    },
  };
}
