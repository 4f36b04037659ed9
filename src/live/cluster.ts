/**
 * Several gateways, one picture (REDIS_URL): what instances share through Redis.
 * - ticket changes go into ONE Redis Stream, an ordered log (XADD, trimmed to about FEED_MAX_ENTRIES):
 *   a mutation's ticket, and each poll's changed tickets followed by the watermark it reached. Each
 *   instance reads the log from its last id (XREAD BLOCK), so after a reconnect it replays what it
 *   missed; entries it could not append wait in order in an outbox and go as soon as Redis answers;
 * - an entry names tickets by uuid and a state digest (filter fields, lastOpDate, fingerprint), never
 *   their data: a receiver reads the ticket itself from ZStack, with its own session, so what a
 *   stream shows always comes from ZStack and an entry is small whatever the ticket holds;
 * - every entry and job message is signed (HMAC-SHA256 with a key derived from REDIS_KEY_SECRET);
 *   one that fails the check is dropped and counted;
 * - one session's live-update poll runs on one instance at a time (a lease: SET NX PX, renewed at each
 *   poll; a waiting instance retries when it expires);
 * - a job callback received by any instance is published (pub/sub, only a hint) so the waiting
 *   instance polls its job at once.
 * Redis holds no session token: a session is named by HMAC-SHA256(REDIS_KEY_SECRET, token). When
 * Redis does not answer (closed, refused or slower than REDIS_COMMAND_TIMEOUT_MS), the caller is
 * told once, every instance polls and pushes on its own, and once it answers again the caller is told
 * once more and each instance catches up with a poll of its own; no request ever waits for Redis
 * beyond REDIS_COMMAND_TIMEOUT_MS, and none fails because of it.
 * The parts: shared-log.ts (the entries), cluster-lease.ts (the lease), cluster-signing.ts (names and
 * signatures); this file holds the connections, their health, the outbox and the log reader.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { claimLease, releaseLease } from './cluster-lease.js';
import { createSigner } from './cluster-signing.js';
import { compareIds, type FeedEntry, isObject, parseEntry, splitEntry } from './shared-log.js';

/** What the live feed shares with other instances; absent = this instance works alone. */
export interface FeedShare {
  /** A session's name in Redis: HMAC-SHA256(REDIS_KEY_SECRET, token), base64url; never the token. */
  keyOf(session: string): string;
  /**
   * Takes or renews the session's poll lease for `ttlMs`: `mine` = this instance polls the session
   * now; otherwise `retryInMs` says when the other holder's lease runs out. Rejects when Redis does
   * not answer (the caller then polls alone).
   */
  claim(key: string, ttlMs: number): Promise<{ mine: boolean; retryInMs: number }>;
  /** Gives the lease up if this instance holds it (its last stream of the session left). */
  release(key: string): void;
  /**
   * Appends to the shared log; never throws, never waits. Entries Redis did not take wait in order
   * (at most OUTBOX_MAX) and are appended once it answers again.
   */
  append(entry: FeedEntry): void;
}

export interface ClusterOptions {
  url: string;
  keySecret: string;
  /** Every key and channel starts with it (REDIS_KEY_PREFIX). */
  prefix: string;
  commandTimeoutMs: number;
  /** Largest entry or message accepted (REDIS_MAX_MESSAGE_BYTES); a larger one is dropped unread. */
  maxMessageBytes?: number;
  /**
   * Redis became reachable (true) or not (false, with the fault as an Error): once per change,
   * whatever the fault (closed, refused, timing out).
   */
  onState?: (up: boolean, err?: Error) => void;
  /** A message or entry failed its check and was dropped (counted by the caller). */
  onRejected?: (reason: RejectReason) => void;
}

export type RejectReason = 'signature' | 'too_large' | 'malformed';

export interface ClusterHandlers {
  /** An entry another instance appended to the shared log, in log order. */
  entry(entry: FeedEntry): void;
  /**
   * Redis answers again after a fault: this instance may have missed entries (Redis restarted empty,
   * or trimmed what it had not read), so it catches up with polls of its own.
   */
  catchUp(): void;
  /** Another instance received ZStack's callback for this job. */
  job(jobUuid: string): void;
}

export interface Cluster extends FeedShare {
  /** Every connection answers: pushes, callbacks and polls are shared. */
  readonly up: boolean;
  /** This process's id among the instances (the value of the leases it holds). */
  readonly instanceId: string;
  /** The command connection, for counters every instance shares (logIn's limits); no offline queue. */
  readonly redis: Redis;
  /** Where the other instances' entries and messages go (set once, before any arrives). */
  listen(handlers: ClusterHandlers): void;
  /** Tells the other instances that ZStack called back for this job. */
  publishJob(jobUuid: string): void;
  /** Entries waiting for Redis to take them. */
  readonly outboxSize: number;
  /** Releases nothing by itself (the feed does), then closes every connection. */
  close(): Promise<void>;
}

/** The log keeps about this many entries (XADD MAXLEN ~): minutes of changes, a few MB at most. */
export const FEED_MAX_ENTRIES = 10_000;
/** Most entries waiting for Redis; past it the oldest go (receivers catch up by polling). */
export const OUTBOX_MAX = 1000;
/** How long one XREAD waits for new entries before asking again. */
const READ_BLOCK_MS = 1000;
/** Entries read at once. */
const READ_COUNT = 500;

/** Reconnect quickly after an outage, but never more often than every second once it lasts. */
const retryStrategy = (times: number) => Math.min(100 * times, 1000);

const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

/** Any rejection or event payload as an Error (ioredis and Lua replies are not always Errors). */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (isObject(value) && typeof value.message === 'string') {
    const err = new Error(value.message);
    if (typeof value.name === 'string') err.name = value.name;
    return err;
  }
  return new Error(String(value));
}

/** Connects to Redis (in the background: the gateway starts whether Redis answers or not). */
export function createCluster(options: ClusterOptions): Cluster {
  const instanceId = randomUUID();
  const streamKey = `${options.prefix}feed`;
  const jobChannel = `${options.prefix}job`;
  // Not the earlier `poll:` keys: during a rolling upgrade, instances of the pub/sub version (whose
  // results the log readers never see) and of this one hold their leases apart, each polling alone.
  const leaseKey = (key: string) => `${options.prefix}lease:${key}`;
  const signer = createSigner(options.keySecret, options.maxMessageBytes, options.onRejected);
  const connectTimeout = Math.max(options.commandTimeoutMs, 1000);
  // Commands fail at once while disconnected (no offline queue): a mutation never waits for Redis.
  const commands = new Redis(options.url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout,
    maxRetriesPerRequest: 1,
    retryStrategy,
  });
  // The log reader blocks in XREAD; a stalled Redis is noticed when one does not answer in time.
  const reader = new Redis(options.url, {
    commandTimeout: READ_BLOCK_MS + options.commandTimeoutMs,
    connectTimeout,
    maxRetriesPerRequest: null,
    retryStrategy,
  });
  // The subscriber's SUBSCRIBE waits for the connection; ioredis subscribes again after a reconnect.
  const subscriber = new Redis(options.url, { connectTimeout, maxRetriesPerRequest: null, retryStrategy });
  const connections = [commands, reader, subscriber];
  let handlers: ClusterHandlers | undefined;
  let closed = false;
  /** undefined until the first time every connection answered. */
  let state: 'up' | 'down' | undefined;
  /** Set by a fault, cleared by the next command that answers once every connection is ready. */
  let faulty = false;
  const outbox: { text: string }[] = [];
  let flushing = false;
  /** After a fault the reader checks where the log ends before reading on (Redis may have restarted). */
  let recheck = false;

  const ready = () => connections.every((c) => c.status === 'ready');
  const isUp = () => state === 'up' && !faulty && ready();

  function fault(err: unknown): void {
    if (closed) return;
    faulty = true;
    recheck = true;
    if (state === 'down') return;
    // Before the first connection: reported only if it was up once (startup without Redis logs once too).
    state = 'down';
    options.onState?.(false, asError(err));
  }
  /** A command answered: Redis is back if every connection is ready. */
  function answered(): void {
    if (closed || !ready()) return;
    faulty = false;
    if (state === 'up') {
      if (outbox.length > 0) void flush();
      return;
    }
    const first = state === undefined;
    state = 'up';
    options.onState?.(true);
    void flush();
    if (!first) handlers?.catchUp();
  }
  for (const connection of connections) {
    connection.on('ready', () => {
      // A fresh connection is not proof of an answer: one cheap question, once commands can ask it.
      if (commands.status === 'ready') commands.ping().then(answered, fault);
    });
    connection.on('close', () => fault(new Error('connection to Redis closed')));
    // Every error of an outage lands here; the outage itself is reported once.
    connection.on('error', fault);
  }

  subscriber.subscribe(jobChannel).catch(fault);
  subscriber.on('message', (name: string, raw: string) => {
    if (handlers === undefined || name !== jobChannel) return;
    const message = signer.verified(jobChannel, raw);
    if (message === undefined) return;
    if (!isObject(message) || message.from === instanceId) return;
    if (typeof message.job === 'string' && JOB_ID.test(message.job)) handlers.job(message.job);
    else options.onRejected?.('malformed');
  });

  async function flush(): Promise<void> {
    if (flushing || closed) return;
    flushing = true;
    try {
      while (outbox.length > 0 && commands.status === 'ready' && !closed) {
        const next = outbox[0] as { text: string };
        await commands.xadd(streamKey, 'MAXLEN', '~', FEED_MAX_ENTRIES, '*', 'm', next.text);
        // Taken: the next one goes (a retry after a timeout may append an entry twice; harmless).
        if (outbox[0] === next) outbox.shift();
        answered();
      }
    } catch (err) {
      fault(err);
    } finally {
      flushing = false;
    }
  }

  async function readLoop(): Promise<void> {
    let lastId: string | undefined;
    while (!closed) {
      try {
        if (lastId === undefined || recheck) {
          recheck = false;
          // Where the log ends now: the start on the first read; after a fault, a log that ends
          // before our position was replaced (Redis restarted): read the new one from its start.
          const last = (await reader.xrevrange(streamKey, '+', '-', 'COUNT', 1))[0]?.[0];
          if (lastId === undefined) lastId = last ?? '0-0';
          else if (last === undefined || compareIds(last, lastId) < 0) lastId = '0-0';
          answered();
          continue;
        }
        const reply = await reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          streamKey,
          lastId,
        );
        answered();
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            // A read re-sent after a timeout may return entries already taken.
            if (compareIds(id, lastId) <= 0) continue;
            lastId = id;
            take(fields);
          }
        }
      } catch (err) {
        if (closed) return;
        fault(err);
        await new Promise((resolve) => setTimeout(resolve, 100).unref());
      }
    }
  }

  function take(fields: string[]): void {
    const index = fields.indexOf('m');
    const raw = index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
    if (raw === undefined) {
      options.onRejected?.('malformed');
      return;
    }
    const message = signer.verified(streamKey, raw);
    if (message === undefined) return;
    const entry = parseEntry(message);
    if (entry === undefined) {
      options.onRejected?.('malformed');
      return;
    }
    if (entry.from === instanceId || handlers === undefined) return;
    const { from: _from, ...rest } = entry;
    handlers.entry(rest);
  }

  void readLoop();

  return {
    instanceId,
    redis: commands,
    get up() {
      return isUp();
    },
    get outboxSize() {
      return outbox.length;
    },
    keyOf(session) {
      return signer.keyOf(session);
    },
    async claim(key, ttlMs) {
      try {
        const lease = await claimLease(commands, leaseKey(key), instanceId, ttlMs);
        answered();
        return lease;
      } catch (err) {
        fault(err);
        throw asError(err);
      }
    },
    release(key) {
      if (!isUp()) return;
      releaseLease(commands, leaseKey(key), instanceId).then(answered, fault);
    },
    append(entry) {
      for (const text of splitEntry(entry, instanceId)) outbox.push({ text: signer.signed(streamKey, text) });
      // Receivers that miss the oldest catch up by polling once Redis is back.
      if (outbox.length > OUTBOX_MAX) outbox.splice(0, outbox.length - OUTBOX_MAX);
      if (state === 'up') void flush();
    },
    publishJob(jobUuid) {
      if (!isUp()) return;
      const text = JSON.stringify({ job: jobUuid, from: instanceId });
      commands.publish(jobChannel, signer.signed(jobChannel, text)).then(answered, fault);
    },
    listen(h) {
      handlers = h;
    },
    async close() {
      closed = true;
      const quit = (c: Redis) =>
        c.status === 'ready'
          ? Promise.race([
              c.quit().catch(() => undefined),
              new Promise((resolve) => setTimeout(resolve, 500).unref()),
            ]).then(() => c.disconnect())
          : c.disconnect();
      // The reader may be blocked in XREAD: cut at once.
      reader.disconnect();
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}
