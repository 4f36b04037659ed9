/**
 * Live ticket changes for `ticketUpdated` streams. ZStack has no push for tickets, so each session
 * with open streams polls: ONE query per interval, whatever the number of streams or filters. The
 * query asks for the tickets the session can see that changed since the last poll (by lastOpDate);
 * every stream's filter is then applied in memory (src/live/ticket-filter.ts).
 * With a share (REDIS_URL, src/live/cluster.ts), that one query runs on one instance at a time, whose
 * changes reach the others' streams, and mutations through any instance are pushed on every instance.
 * This file is the factory and the caps; the parts: feed-stream.ts (one stream), session-watch.ts
 * (a session's poll loop and dedup), session-share.ts (its lease and the shared log's reads),
 * feed-schedule.ts (when to poll, what to ask).
 */

import type { CallerSignal } from '../zstack/call-types.js';
import type { ZStackClient } from '../zstack/client.js';
import type { ApiTicket } from '../zstack/types.js';
import type { FeedShare } from './cluster.js';
import { type FeedTimer, realTimer } from './feed-schedule.js';
import {
  FeedLimitError,
  MAX_QUEUED_EVENTS,
  type StreamCaller,
  type StreamSink,
  Subscriber,
} from './feed-stream.js';
import { changeOf } from './session-share.js';
import { SessionWatch } from './session-watch.js';
import type { FeedEntry } from './shared-log.js';
import type { TicketFilter } from './ticket-filter.js';

export type { TicketFilter } from './ticket-filter.js';

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
