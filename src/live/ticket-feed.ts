import { canonicalJson } from '../canonical-json.js';
import type { ZStackClient } from '../zstack/client.js';
import { ZStackApiError } from '../zstack/errors.js';
import { MAX_UUIDS_PER_QUERY, type QueryCondition } from '../zstack/query.js';
import { queryTickets } from '../zstack/tickets.js';
import type { CallerSignal } from '../zstack/transport.js';
import type { ApiTicket } from '../zstack/types.js';

/** What one subscriber watches: given tickets, tickets matching conditions, or both. */
export interface TicketFilter {
  uuids?: readonly string[];
  conditions?: readonly QueryCondition[];
}

export interface TicketFeed {
  /**
   * Changes of the tickets matching `filter`, as seen with `session`, until `signal` aborts or the
   * iterator is returned. Only real changes after the subscription started are emitted.
   */
  subscribe(session: string, filter: TicketFilter, signal: CallerSignal): AsyncIterableIterator<ApiTicket>;
  /**
   * A ticket as this gateway's own mutation left it: pushed at once to that session's subscribers of
   * the ticket; every other watch of it polls now, with its own session (never sees another's data).
   */
  publish(session: string, ticket: ApiTicket): void;
  close(): void;
}

const MAX_MATCHES = 500;

/** One subscriber: a queue its iterator drains. */
class Subscriber implements AsyncIterableIterator<ApiTicket> {
  private readonly queue: ApiTicket[] = [];
  private waiting: ((r: IteratorResult<ApiTicket>) => void) | undefined;
  private failWaiting: ((e: unknown) => void) | undefined;
  private failure: unknown;
  done = false;

  constructor(
    readonly uuids: ReadonlySet<string> | undefined,
    readonly groupKey: string,
    private readonly onEnd: (s: Subscriber) => void,
  ) {}

  push(ticket: ApiTicket): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: ticket, done: false });
    } else {
      this.queue.push(ticket);
    }
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = undefined;
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
 * Subscribers that can share one upstream query: all uuid-only subscribers of a session share one
 * `uuid?=` query (their uuids unioned); subscribers with conditions share one per distinct filter.
 */
interface Group {
  conditions: readonly QueryCondition[] | undefined;
  subscribers: Set<Subscriber>;
  /** Fingerprint of each ticket last seen by this group. */
  seen: Map<string, string>;
  /** A conditions group has fetched once: tickets appearing later are changes. */
  primed: boolean;
}

const UUID_GROUP = 'uuids';

/** All watching of one session: one poll loop, whatever the number of subscribers. */
class SessionWatch {
  readonly groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private pollAgain = false;

  constructor(
    readonly session: string,
    private readonly client: ZStackClient,
    private readonly intervalMs: number,
    private readonly onEmpty: (w: SessionWatch) => void,
  ) {}

  add(filter: TicketFilter): Subscriber {
    const uuidOnly = filter.conditions === undefined;
    const key = uuidOnly ? UUID_GROUP : canonicalJson({ c: filter.conditions, u: filter.uuids });
    let group = this.groups.get(key);
    if (!group) {
      group = {
        conditions: uuidOnly ? undefined : filter.conditions,
        subscribers: new Set(),
        seen: new Map(),
        primed: false,
      };
      this.groups.set(key, group);
    }
    const uuids = filter.uuids ? new Set(filter.uuids) : undefined;
    const subscriber = new Subscriber(uuids, key, (s) => this.remove(s));
    group.subscribers.add(subscriber);
    // Learn the current state at once, so that the first change is told apart from the baseline.
    this.pollSoon();
    return subscriber;
  }

  private remove(subscriber: Subscriber): void {
    const group = this.groups.get(subscriber.groupKey);
    if (!group) return;
    group.subscribers.delete(subscriber);
    if (group.subscribers.size === 0) this.groups.delete(subscriber.groupKey);
    if (this.groups.size === 0) this.stop();
  }

  /** Whether a change of this ticket may concern this session's subscribers (a filter may match any). */
  watches(uuid: string): boolean {
    for (const [key, group] of this.groups) {
      if (key !== UUID_GROUP) return true;
      for (const s of group.subscribers) if (s.uuids?.has(uuid)) return true;
    }
    return false;
  }

  /** A ticket this session itself changed: emit now to the uuid subscribers that watch it. */
  deliver(ticket: ApiTicket): void {
    const group = this.groups.get(UUID_GROUP);
    if (group) this.consider(group, ticket, true);
    if (this.groups.size > (group ? 1 : 0)) this.pollSoon();
  }

  pollSoon(): void {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onEmpty(this);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.groups.size === 0) return;
    this.polling = true;
    try {
      for (const group of [...this.groups.values()]) await this.pollGroup(group);
    } catch (err) {
      // A session ZStack no longer accepts ends every subscription of it; other faults are retried.
      if (err instanceof ZStackApiError && err.errorCode.code.startsWith('ID.100')) {
        for (const group of this.groups.values()) for (const s of [...group.subscribers]) s.fail(err);
        return;
      }
    } finally {
      this.polling = false;
    }
    if (this.groups.size === 0) return;
    const again = this.pollAgain;
    this.pollAgain = false;
    this.schedule(again ? 0 : this.intervalMs);
  }

  private async pollGroup(group: Group): Promise<void> {
    const opts = { session: this.session };
    if (!group.conditions) {
      const uuids = new Set<string>();
      for (const s of group.subscribers) for (const u of s.uuids ?? []) uuids.add(u);
      const all = [...uuids];
      for (let i = 0; i < all.length; i += MAX_UUIDS_PER_QUERY) {
        const batch = all.slice(i, i + MAX_UUIDS_PER_QUERY);
        const reply = await queryTickets(
          this.client,
          { conditions: [{ field: 'uuid', op: '?=', value: batch }], limit: batch.length },
          opts,
        );
        for (const ticket of reply.inventories ?? []) this.consider(group, ticket, false);
      }
      return;
    }
    const reply = await queryTickets(
      this.client,
      { conditions: [...group.conditions], limit: MAX_MATCHES },
      opts,
    );
    const wasPrimed = group.primed;
    group.primed = true;
    for (const ticket of reply.inventories ?? []) {
      if (wasPrimed || group.seen.has(ticket.uuid)) this.consider(group, ticket, false);
      else group.seen.set(ticket.uuid, canonicalJson(ticket));
    }
  }

  /** Emits the ticket to the group's subscribers of it when it differs from what the group last saw. */
  private consider(group: Group, ticket: ApiTicket, pushed: boolean): void {
    const fingerprint = canonicalJson(ticket);
    const before = group.seen.get(ticket.uuid);
    group.seen.set(ticket.uuid, fingerprint);
    if (before === fingerprint) return;
    // A uuid seen for the first time by polling is the baseline, not a change.
    if (before === undefined && !pushed && (!group.conditions || !group.primed)) return;
    for (const s of group.subscribers) if (!s.uuids || s.uuids.has(ticket.uuid)) s.push(ticket);
  }
}

/** Polls ZStack for ticket changes: one loop per session however many subscribers it has. */
export function createTicketFeed(client: ZStackClient, options: { intervalMs: number }): TicketFeed {
  const watches = new Map<string, SessionWatch>();
  return {
    subscribe(session, filter, signal) {
      let watch = watches.get(session);
      if (!watch) {
        watch = new SessionWatch(session, client, options.intervalMs, (w) => {
          if (watches.get(w.session) === w) watches.delete(w.session);
        });
        watches.set(session, watch);
      }
      const subscriber = watch.add(filter);
      if (signal.aborted) subscriber.end();
      else signal.addEventListener('abort', () => subscriber.end(), { once: true });
      return subscriber;
    },
    publish(session, ticket) {
      for (const watch of watches.values()) {
        if (watch.session === session) watch.deliver(ticket);
        else if (watch.watches(ticket.uuid)) watch.pollSoon();
      }
    },
    close() {
      for (const watch of watches.values()) {
        for (const group of watch.groups.values()) for (const s of [...group.subscribers]) s.end();
      }
      watches.clear();
    },
  };
}
