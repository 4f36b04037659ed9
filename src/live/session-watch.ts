/**
 * The session poller: all `ticketUpdated` streams of one session share one poll loop and one query per
 * interval, whatever their number or filters; each poll's tickets are deduplicated (a state already
 * seen, or older than the newest taken, is not emitted again) and pushed to the matching streams.
 * With a share, the lease and the shared log's reads are session-share.ts's.
 */
import type { ZStackClient } from '../zstack/client.js';
import { ZStackApiError, ZStackResponseTooLargeError } from '../zstack/errors.js';
import { queryTickets } from '../zstack/tickets.js';
import type { ApiTicket } from '../zstack/types.js';
import type { FeedShare } from './cluster.js';
import {
  EPOCH,
  type FeedTimer,
  feedQuery,
  MAX_CHANGES_PER_POLL,
  nextFeedPollDelayMs,
  nextPollLimit,
} from './feed-schedule.js';
import { Subscriber } from './feed-stream.js';
import { MAX_SEEN, NamedReads, SessionLease, stateDigest } from './session-share.js';
import type { FeedChange, FeedEntry } from './shared-log.js';
import { queryDateOf, type TicketFilter, ticketMatches } from './ticket-filter.js';

/** What a session's watch needs of the feed's options. */
export interface WatchSettings {
  intervalMs: number;
  onError: (err: unknown, what: string) => void;
  timer: FeedTimer;
  share: FeedShare | undefined;
}

/** All streams of one session: one poll loop, whatever the number of streams or filters. */
export class SessionWatch {
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
  /** Poll here at once, lease or not (Redis answers again after a fault). */
  private catchingUp = false;
  /** Page size of the next poll (see nextPollLimit). */
  private pollLimit = MAX_CHANGES_PER_POLL;
  private readonly lease: SessionLease;
  private readonly reads: NamedReads;
  constructor(
    readonly session: string,
    /** The session's name among instances (HMAC of the token); undefined when alone. */
    readonly key: string | undefined,
    private readonly client: ZStackClient,
    private readonly options: WatchSettings,
    private readonly onEmpty: (w: SessionWatch) => void,
  ) {
    this.lease = new SessionLease(options.share, key, options.intervalMs);
    this.reads = new NamedReads(client, session, options.timer, options.onError, (t) => this.deliver(t));
  }

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
      leaseFreeInMs: this.lease.leaseFreeInMs,
      catchUp: this.catchingUp,
    });
    this.timer = timer.setTimeout(() => void this.poll(), delay);
  }

  stop(): void {
    this.lease.release();
    this.stopped = true;
    if (this.timer !== undefined) this.options.timer.clearTimeout(this.timer);
    this.reads.stop();
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
    const catchingUp = this.catchingUp;
    this.catchingUp = false;
    this.lastPollAt = this.options.timer.now();
    try {
      // Re-reads that failed before are tried again once an interval until they succeed.
      if (this.reads.size > 0) {
        await this.reads.reread().catch((err: unknown) => {
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
    const lease = this.lease;
    lease.leaseFreeInMs = undefined;
    if (!lease.shared) return false;
    try {
      lease.took(await lease.claim());
    } catch {
      lease.leader = false;
      return false;
    }
    if (this.stopped) {
      lease.release();
      return true;
    }
    // Its first poll every instance makes itself: its own starting point, so that taking over (or
    // polling alone while Redis fails) later finds every change since this stream opened.
    return !lease.leader && this.since !== undefined;
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
      if (this.mayMatch(change)) this.reads.add(change.uuid);
      else if (own) this.note(change.uuid, change.fp, at);
    }
    if (own && entry.since !== undefined && this.since !== undefined && entry.since > this.since) {
      this.since = entry.since;
      for (const [uuid, seen] of this.seen) if (seen.at < entry.since) this.seen.delete(uuid);
    }
    this.reads.readSoon();
  }

  /** Another session's mutation through this instance changed a ticket a stream here matches. */
  readLater(uuid: string): void {
    if (this.stopped) return;
    this.reads.add(uuid);
    this.reads.readSoon();
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
      this.lease.baseline(this.since);
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
    this.lease.append(newest, changed);
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
