/**
 * Live ticket changes for `ticketUpdated` streams. ZStack has no push for tickets, so each session
 * with open streams polls: ONE query per interval, whatever the number of streams or filters. The
 * query asks for the tickets the session can see that changed since the last poll (by lastOpDate);
 * every stream's filter is then applied in memory (src/live/ticket-filter.ts).
 * With a share (REDIS_URL, src/live/cluster.ts), that one query runs on one instance at a time, whose
 * changes reach the others' streams, and mutations through any instance are pushed on every instance.
 */
import { createHash } from 'node:crypto';
import type { ZStackClient } from '../zstack/client.js';
import { ZStackApiError, ZStackResponseTooLargeError } from '../zstack/errors.js';
import { MAX_UUIDS_PER_QUERY, type QueryParams } from '../zstack/query.js';
import { queryTickets } from '../zstack/tickets.js';
import type { CallerSignal } from '../zstack/transport.js';
import type { ApiTicket } from '../zstack/types.js';
import type { FeedShare, SharedFeedMessage } from './cluster.js';
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
   * match it. Another session's watch never gets this copy (it may not see the ticket): only those
   * with a stream matching it refresh early, at most once per WAKE_MIN_GAP_MS.
   */
  publish(session: string, ticket: ApiTicket): void;
  /** What another instance shared (src/live/cluster.ts): pushed, taken as a poll's result, or a wake. */
  received(message: SharedFeedMessage): void;
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
 * interval), so only a holder gone for two intervals (and a second) hands the session over.
 */
export function pollLeaseMs(intervalMs: number): number {
  return 2 * intervalMs + 1000;
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
}

/**
 * The delay before a session's next poll: at once for the first; then one interval after the last
 * poll started; woken by another session's mutation, after min(interval, WAKE_MIN_GAP_MS). So a
 * session polls at most once per interval plus once per WAKE_MIN_GAP_MS when woken. Pure.
 */
export function nextFeedPollDelayMs(s: FeedPollState): number {
  if (s.lastPollAtMs === undefined) return 0;
  const gap = s.woken ? Math.min(s.intervalMs, WAKE_MIN_GAP_MS) : s.intervalMs;
  return Math.max(0, s.lastPollAtMs + gap - s.nowMs);
}

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

/** Tickets re-read in one call after a message named them instead of carrying them (they are big). */
const REREAD_BATCH = 10;

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
 * A ticket's state as a short digest: what `seen` keeps, and what a poll's results tell the other
 * instances about the tickets at the watermark (so none of them re-emits those if it polls next),
 * without carrying ticket data.
 */
function stateDigest(ticket: ApiTicket): string {
  return createHash('sha256').update(ticketFingerprint(ticket)).digest('base64url').slice(0, 22);
}

/** Most watermark digests one shared poll result carries. */
const MAX_SHARED_SEEN = 1000;

/** Most fingerprints a session keeps (tickets at the watermark second and pushed ones). */
const MAX_SEEN = 10_000;

/** All streams of one session: one poll loop, whatever the number of streams or filters. */
class SessionWatch {
  readonly subscribers = new Set<Subscriber>();
  /** The lastOpDate (query form) up to which changes were seen; undefined before the first poll. */
  private since: string | undefined;
  /** Fingerprint and query-form lastOpDate of tickets at or after `since` already emitted or seen. */
  private readonly seen = new Map<string, { fingerprint: string; at: string }>();
  private timer: unknown;
  private polling = false;
  private lastPollAt: number | undefined;
  private woken = false;
  private stopped = false;
  /** This instance held the session's poll lease at its last poll (shared mode). */
  private leader = false;
  /** Page size of the next poll (see nextPollLimit). */
  private pollLimit = MAX_CHANGES_PER_POLL;
  /** Changed tickets another instance named but could not carry (REDIS_MAX_MESSAGE_BYTES): to re-read. */
  private readonly toReread = new Set<string>();
  private rereading = false;

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

  /** A ticket this session itself changed: emitted now to its matching streams, not again by a poll. */
  deliver(ticket: ApiTicket): void {
    try {
      this.consider(ticket);
    } catch (err) {
      this.options.onError(err, 'ticket feed could not push one ticket; skipped');
    }
  }

  /**
   * Another session changed a ticket this session's streams match: refresh early (bounded). Shared,
   * the other instances are told too, since the one that polls this session may hold no such stream.
   */
  wake(): void {
    if (this.woken || this.stopped) return;
    if (this.key !== undefined) this.options.share?.publish({ kind: 'wake', key: this.key });
    this.wakeHere();
  }

  /** An early refresh asked for by another instance (or by wake). */
  wakeHere(): void {
    if (this.woken || this.stopped) return;
    this.woken = true;
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
    });
    this.timer = timer.setTimeout(() => void this.poll(), delay);
  }

  stop(): void {
    if (this.leader && this.key !== undefined) this.options.share?.release(this.key);
    this.leader = false;
    this.stopped = true;
    if (this.timer !== undefined) this.options.timer.clearTimeout(this.timer);
    this.timer = undefined;
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
    this.lastPollAt = this.options.timer.now();
    try {
      // Re-reads that failed before are tried again once an interval until they succeed.
      if (this.toReread.size > 0) {
        await this.reread().catch((err: unknown) => {
          this.options.onError(err, 'ticket feed could not re-read shared tickets; retrying next interval');
        });
      }
      if (await this.polledElsewhere()) return;
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
   * Shared: whether another instance holds this session's poll lease (then its results arrive as
   * `changes`). Redis not answering means polling here, as when alone. Never awaits when alone.
   */
  private async polledElsewhere(): Promise<boolean> {
    const { share, intervalMs } = this.options;
    if (share === undefined || this.key === undefined) return false;
    try {
      this.leader = await share.claim(this.key, pollLeaseMs(intervalMs));
    } catch {
      this.leader = false;
      return false;
    }
    if (this.stopped && this.leader) {
      share.release(this.key);
      this.leader = false;
    }
    return !this.leader || this.stopped;
  }

  /**
   * Another instance's poll of this session: its changes go to the matching streams here; `atSince`
   * (uuid, state digest) are the tickets at the watermark it has seen, so a poll here later (taking
   * over, or Redis gone) does not emit them again.
   */
  takeShared(
    since: string,
    tickets: readonly ApiTicket[],
    atSince: readonly [string, string][],
    refs: readonly string[] = [],
  ): void {
    if (this.stopped) return;
    // Named, not carried: re-read here, and not taken as seen from atSince (that would hide them).
    this.rereadLater(refs);
    for (const ticket of tickets) {
      try {
        this.consider(ticket);
      } catch (err) {
        this.options.onError(err, 'ticket feed could not serve one shared ticket; skipped');
      }
    }
    if (this.since === undefined || since > this.since) {
      this.since = since;
      for (const [uuid, entry] of this.seen) if (entry.at < since) this.seen.delete(uuid);
    }
    if (since !== this.since) return;
    for (const [uuid, fingerprint] of atSince) {
      if (this.seen.has(uuid) || this.toReread.has(uuid)) continue;
      if (this.seen.size >= MAX_SEEN) break;
      this.seen.set(uuid, { fingerprint, at: since });
    }
  }

  /**
   * Another instance changed or saw these tickets but could not carry them in its message (too big
   * for REDIS_MAX_MESSAGE_BYTES): read them from ZStack with this session, a few a call, and emit them
   * as any change. A failed re-read is tried again at each interval, so no change is lost to the bound.
   */
  rereadLater(uuids: readonly string[]): void {
    if (this.stopped || uuids.length === 0) return;
    for (const uuid of uuids) if (this.toReread.size < MAX_SEEN) this.toReread.add(uuid);
    void this.reread().catch((err: unknown) => {
      this.options.onError(err, 'ticket feed could not re-read shared tickets; retrying next interval');
    });
  }

  private async reread(): Promise<void> {
    if (this.rereading) return;
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
          // Over ZSTACK_MAX_RESPONSE_BYTES: fewer a call; one alone that big cannot be shown at all.
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
        // A uuid ZStack no longer returns (deleted, or no longer visible to the session) is done.
        for (const uuid of uuids) this.toReread.delete(uuid);
        for (const ticket of rows) this.deliver(ticket);
      }
    } finally {
      this.rereading = false;
    }
  }

  private share(since: string, changed: ApiTicket[]): void {
    if (!this.leader || this.key === undefined || this.options.share === undefined) return;
    const atSince: [string, string][] = [];
    for (const [uuid, entry] of this.seen) {
      if (atSince.length >= MAX_SHARED_SEEN) break;
      if (entry.at === since) atSince.push([uuid, entry.fingerprint]);
    }
    this.options.share.publish({ kind: 'changes', key: this.key, since, tickets: changed, atSince });
  }

  /** One poll's tickets: the first sets the baseline, later ones are changes (one bad ticket skips alone). */
  private take(tickets: readonly ApiTicket[]): void {
    if (this.since === undefined) {
      const newest = tickets.length > 0 ? queryDateOf(tickets[0]?.lastOpDate) : undefined;
      this.since = newest ?? EPOCH;
      for (const ticket of tickets) {
        const at = queryDateOf(ticket.lastOpDate);
        if (at === this.since) this.remember(ticket, at);
      }
      this.share(this.since, []);
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
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    this.seen.set(ticket.uuid, { fingerprint: stateDigest(ticket), at });
  }

  /**
   * Emits the ticket to matching streams when it differs from what was seen (and adds it to `changed`);
   * returns its query date.
   */
  private consider(ticket: ApiTicket, changed?: ApiTicket[]): string | undefined {
    if (typeof ticket.uuid !== 'string') return undefined;
    const at = queryDateOf(ticket.lastOpDate) ?? this.since ?? EPOCH;
    if (this.seen.get(ticket.uuid)?.fingerprint === stateDigest(ticket)) return at;
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
        else if (watch.matches(ticket)) watch.wake();
      }
      if (share !== undefined) share.publish({ kind: 'ticket', key: share.keyOf(session), ticket });
    },
    received(message) {
      if (draining) return;
      if (message.kind === 'ticket') {
        for (const watch of watches.values()) {
          if (watch.key !== message.key) {
            if (watch.matches(message.ticket)) watch.wake();
          } else if (message.partial) watch.rereadLater([message.ticket.uuid]);
          else watch.deliver(message.ticket);
        }
        return;
      }
      const watch = byKey.get(message.key);
      if (watch === undefined) return;
      if (message.kind === 'wake') watch.wakeHere();
      else watch.takeShared(message.since, message.tickets, message.atSince, message.refs);
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
