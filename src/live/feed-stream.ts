/**
 * One `ticketUpdated` stream: the queue its async iterator drains, the caps that refuse a stream and
 * the slow-reader bound that cuts one. The session's poller (session-watch.ts) pushes into it.
 *
 * Hand-rolled rather than yoga's Repeater: the slow-reader cut counts the events still queued before
 * each push (Repeater's queue is not observable), and a session refused by ZStack ends the stream
 * with its error at once, dropping what is queued (Repeater's stop(error) delivers the queue first).
 */
import type { ApiTicket } from '../zstack/types.js';
import type { TicketFilter } from './ticket-filter.js';

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

/** One stream: a queue its iterator drains. */
export class Subscriber implements AsyncIterableIterator<ApiTicket> {
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
