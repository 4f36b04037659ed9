/**
 * Several gateways, one picture (REDIS_URL): what instances share through Redis.
 * - a mutation's ticket is published so every instance pushes it to its own matching streams;
 * - a job callback received by any instance is published so the instance waiting for it wakes;
 * - one session's live-update poll runs on one instance at a time (a lease: SET NX PX, renewed at each
 *   poll), whose results are published to the others.
 * Redis holds no session token: a session is named by HMAC-SHA256(REDIS_KEY_SECRET, token). Its only
 * keys are the poll leases (value: a random instance id); tickets travel in pub/sub messages, which
 * Redis does not keep. When Redis does not answer, every instance polls and pushes on its own (the
 * caller is told once per outage) and shares again once it is back; no request ever waits for Redis
 * beyond REDIS_COMMAND_TIMEOUT_MS, and none fails because of it.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ApiTicket } from '../zstack/types.js';

/** What another instance shared about live updates. */
export type SharedFeedMessage =
  /**
   * A ticket as a mutation through another instance left it, for the session that made it.
   * `partial`: the ticket was too large for one message (REDIS_MAX_MESSAGE_BYTES), so only the fields
   * stream filters read came; the session's own streams re-read it from ZStack.
   */
  | { kind: 'ticket'; key: string; ticket: ApiTicket; partial?: boolean }
  /**
   * One poll's changed tickets of a session, the watermark it reached, and (uuid, state digest) of
   * the tickets at that watermark it has seen. `refs`: uuids of changed tickets that did not fit in the
   * message (REDIS_MAX_MESSAGE_BYTES), for the receiver to re-read from ZStack.
   */
  | {
      kind: 'changes';
      key: string;
      since: string;
      tickets: ApiTicket[];
      atSince: [string, string][];
      refs?: string[];
    }
  /** A stream of the session matches a ticket another session changed: poll early. */
  | { kind: 'wake'; key: string };

/** What the live feed shares with other instances; absent = this instance works alone. */
export interface FeedShare {
  /** A session's name in Redis: HMAC-SHA256(REDIS_KEY_SECRET, token), base64url; never the token. */
  keyOf(session: string): string;
  /**
   * Takes or renews the session's poll lease for `ttlMs`: true = this instance polls the session now.
   * Rejects when Redis does not answer (the caller then polls alone).
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if this instance holds it (its last stream of the session left). */
  release(key: string): void;
  /** Sends to the other instances; never throws, never waits (a message lost in an outage is lost). */
  publish(message: SharedFeedMessage): void;
}

export interface ClusterOptions {
  url: string;
  keySecret: string;
  /** Every key and channel starts with it (REDIS_KEY_PREFIX). */
  prefix: string;
  commandTimeoutMs: number;
  /**
   * Largest message published (REDIS_MAX_MESSAGE_BYTES): a ticket that would pass it travels as a
   * reference its receivers re-read from ZStack; a larger message received is skipped. Default: none.
   */
  maxMessageBytes?: number;
  /** Redis became reachable (true) or not (false, with the error): once per change. */
  onState?: (up: boolean, err?: unknown) => void;
  /** A message that could not be sent or read: skipped; the caller logs it. */
  onError?: (err: unknown, what: string) => void;
}

export interface ClusterHandlers {
  feed(message: SharedFeedMessage): void;
  /** Another instance received ZStack's callback for this job. */
  job(jobUuid: string): void;
}

export interface Cluster extends FeedShare {
  /** Both connections are ready: pushes, callbacks and polls are shared. */
  readonly up: boolean;
  /** This process's id among the instances (the value of the leases it holds). */
  readonly instanceId: string;
  /** The command connection, for counters every instance shares (logIn's limits); no offline queue. */
  readonly redis: Redis;
  /** Where messages of the other instances go (set once, before any arrives). */
  listen(handlers: ClusterHandlers): void;
  /** Tells the other instances that ZStack called back for this job. */
  publishJob(jobUuid: string): void;
  /** Releases nothing by itself (the feed does), then closes both connections. */
  close(): Promise<void>;
}

/** Take the lease when free, renew it when ours: 1 = this instance polls. */
const CLAIM = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Reconnect quickly after an outage, but never more often than every second once it lasts. */
const retryStrategy = (times: number) => Math.min(100 * times, 1000);

const JOB_ID = /^[0-9A-Za-z-]{1,64}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Connects to Redis (in the background: the gateway starts whether Redis answers or not). */
export function createCluster(options: ClusterOptions): Cluster {
  const instanceId = randomUUID();
  const onError = options.onError ?? (() => {});
  const channel = {
    feed: `${options.prefix}feed`,
    job: `${options.prefix}job`,
  };
  const leaseKey = (key: string) => `${options.prefix}poll:${key}`;
  // Commands fail at once while disconnected (no offline queue): a mutation never waits for Redis.
  const commands = new Redis(options.url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    maxRetriesPerRequest: 1,
    retryStrategy,
  });
  // The subscriber's SUBSCRIBE waits for the connection; ioredis subscribes again after a reconnect.
  const subscriber = new Redis(options.url, {
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    maxRetriesPerRequest: null,
    retryStrategy,
  });
  let handlers: ClusterHandlers | undefined;
  let reported: boolean | undefined;
  let closed = false;

  const isUp = () => commands.status === 'ready' && subscriber.status === 'ready';
  function report(err?: unknown): void {
    if (closed) return;
    const up = isUp();
    if (reported === up || (up === false && err === undefined && reported === undefined)) return;
    reported = up;
    options.onState?.(up, err);
  }
  for (const connection of [commands, subscriber]) {
    connection.on('ready', () => report());
    connection.on('close', () => report(new Error('connection to Redis closed')));
    // Every error of an outage lands here; the outage itself is reported once.
    connection.on('error', (err: unknown) => report(err));
  }

  subscriber.subscribe(channel.feed, channel.job).catch((err: unknown) => {
    if (!closed) onError(err, 'redis subscribe failed');
  });
  const maxBytes = options.maxMessageBytes ?? Number.POSITIVE_INFINITY;
  subscriber.on('message', (name: string, text: string) => {
    if (handlers === undefined) return;
    // Only an instance with a larger REDIS_MAX_MESSAGE_BYTES (or a stranger) sends these: not parsed.
    if (text.length > maxBytes) {
      onError(
        new Error(`message of ${text.length} characters`),
        'redis message over REDIS_MAX_MESSAGE_BYTES; skipped',
      );
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      onError(err, 'redis message is not JSON; skipped');
      return;
    }
    if (!isObject(message) || message.from === instanceId) return;
    if (name === channel.job) {
      if (typeof message.job === 'string' && JOB_ID.test(message.job)) handlers.job(message.job);
      return;
    }
    const shared = sharedFeedMessage(message);
    if (shared !== undefined) handlers.feed(shared);
  });

  function send(name: string, payload: Record<string, unknown> | SharedFeedMessage): void {
    if (!isUp()) return;
    let text: string;
    try {
      text = encode(payload, instanceId, maxBytes);
    } catch (err) {
      onError(err, 'redis message could not be serialised; not shared');
      return;
    }
    if (Buffer.byteLength(text) > maxBytes) {
      onError(
        new Error(`message of ${Buffer.byteLength(text)} bytes`),
        'redis message over REDIS_MAX_MESSAGE_BYTES; not shared',
      );
      return;
    }
    commands.publish(name, text).catch((err: unknown) => onError(err, 'redis publish failed'));
  }

  return {
    instanceId,
    redis: commands,
    get up() {
      return isUp();
    },
    keyOf(session) {
      return createHmac('sha256', options.keySecret).update(session).digest('base64url');
    },
    async claim(key, ttlMs) {
      const won = await commands.eval(CLAIM, 1, leaseKey(key), instanceId, String(Math.ceil(ttlMs)));
      return won === 1;
    },
    release(key) {
      if (!isUp()) return;
      commands
        .eval(RELEASE, 1, leaseKey(key), instanceId)
        .catch((err: unknown) => onError(err, 'redis lease release failed; it expires'));
    },
    publish(message) {
      send(channel.feed, message);
    },
    publishJob(jobUuid) {
      send(channel.job, { job: jobUuid });
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
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}

/** The ticket fields stream filters read (src/live/ticket-filter.ts): what a partial ticket carries. */
const FILTER_FIELDS = [
  'uuid',
  'status',
  'name',
  'ticketTypeUuid',
  'flowCollectionUuid',
  'accountSystemType',
  'lastOpDate',
] as const;

function filterFieldsOf(ticket: ApiTicket): ApiTicket {
  const source = ticket as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of FILTER_FIELDS) if (source[field] !== undefined) out[field] = source[field];
  return out as unknown as ApiTicket;
}

const byteLength = (text: string) => Buffer.byteLength(text);

/**
 * A message as published, within `maxBytes` where tickets are what makes it large: a mutation's
 * ticket too large goes as its filter fields (`partial`); a poll's changes keep whole tickets, in
 * order, while they fit, and name the rest by uuid (`refs`). Either way every change is announced, and
 * its receivers re-read what did not fit from ZStack, so no change is lost to the bound.
 */
export function encode(
  payload: Record<string, unknown> | SharedFeedMessage,
  from: string,
  maxBytes: number,
): string {
  const text = JSON.stringify({ ...payload, from });
  if (maxBytes === Number.POSITIVE_INFINITY || byteLength(text) <= maxBytes) return text;
  const m = payload as SharedFeedMessage;
  if (m.kind === 'ticket') {
    return JSON.stringify({
      kind: 'ticket',
      key: m.key,
      ticket: filterFieldsOf(m.ticket),
      partial: true,
      from,
    });
  }
  if (m.kind !== 'changes') return text;
  // Room is kept for every change as a reference; whole tickets fill what is left.
  const refs = m.tickets.map((t) => t.uuid);
  const head = JSON.stringify({
    kind: 'changes',
    key: m.key,
    since: m.since,
    atSince: m.atSince,
    refs,
    from,
  });
  let room = maxBytes - byteLength(head) - ',"tickets":[]'.length;
  const whole: string[] = [];
  const left: string[] = [];
  for (const ticket of m.tickets) {
    const one = JSON.stringify(ticket);
    const size = byteLength(one) + 1;
    if (size <= room) {
      whole.push(one);
      room -= size;
    } else left.push(ticket.uuid);
  }
  const shell = JSON.stringify({
    kind: 'changes',
    key: m.key,
    since: m.since,
    atSince: m.atSince,
    refs: left,
    from,
  });
  return `${shell.slice(0, -1)},"tickets":[${whole.join(',')}]}`;
}

const REF = /^[0-9A-Za-z-]{1,64}$/;

/** A feed message from Redis, checked field by field; undefined when it is not one. */
function sharedFeedMessage(m: Record<string, unknown>): SharedFeedMessage | undefined {
  if (typeof m.key !== 'string') return undefined;
  if (m.kind === 'wake') return { kind: 'wake', key: m.key };
  if (m.kind === 'ticket' && isObject(m.ticket) && typeof m.ticket.uuid === 'string') {
    const ticket = m.ticket as unknown as ApiTicket;
    return m.partial === true
      ? { kind: 'ticket', key: m.key, ticket, partial: true }
      : { kind: 'ticket', key: m.key, ticket };
  }
  if (m.kind === 'changes' && typeof m.since === 'string' && Array.isArray(m.tickets)) {
    const tickets = m.tickets.filter(isObject) as unknown as ApiTicket[];
    const atSince = (Array.isArray(m.atSince) ? m.atSince : []).filter(
      (pair): pair is [string, string] =>
        Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string',
    );
    const refs = (Array.isArray(m.refs) ? m.refs : []).filter(
      (ref): ref is string => typeof ref === 'string' && REF.test(ref),
    );
    return { kind: 'changes', key: m.key, since: m.since, tickets, atSince, refs };
  }
  return undefined;
}
