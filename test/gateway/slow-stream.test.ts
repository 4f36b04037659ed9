import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEVER_ABORTED } from '../../src/http/close-signal.js';
import { MAX_QUEUED_EVENTS } from '../../src/live/feed-stream.js';
import { createTicketFeed } from '../../src/live/ticket-feed.js';
import type { ZStackClient } from '../../src/zstack/client.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { createManualTimer } from '../helpers/manual-timer.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const WATCH = 'subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid description } }';
/** Each event carries this many bytes of description. */
const EVENT_BYTES = 512 * 1024;
/** Far more than the loopback's socket buffers hold (a few MB each way): the gateway must see it pile up. */
const MAX_EVENTS = 80;

/** An SSE client that sends its subscription and never reads a byte of the answer. */
async function nonReader(
  port: number,
  session: string,
  uuid: string,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const body = JSON.stringify({ query: WATCH, variables: { uuids: [uuid] } });
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // No 'data' listener: node stops reading once its buffer is full, then the kernel's fill up.
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nAuthorization: OAuth ${session}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return { socket, closed };
}

describe('a ticketUpdated stream whose client does not read', () => {
  const manual = createManualTimer();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        LOG_LEVEL: 'info',
        TICKET_POLL_INTERVAL_MS: '1000',
        ZSTACK_TIME_ZONE: 'UTC',
        STREAM_MAX_BUFFERED_BYTES: String(64 * 1024),
      },
      deps: { feedTimer: manual.timer },
    });
  });
  afterAll(() => h.close());

  const polls = () => h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' });

  it('is cut once more than STREAM_MAX_BUFFERED_BYTES wait unsent; a reading stream keeps its events', async () => {
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const reader: SseSubscription = await subscribe(h.url, WATCH, { uuids: [uuid] }, session);
    const slow = await nonReader(Number(new URL(h.base).port), session, uuid);
    // A client that does not read does not see its connection close either: the feed tells.
    const cut = () => h.gateway.feed.size < 2;
    try {
      await waitFor(() => h.gateway.feed.size === 2, 'both streams');
      manual.advance(0);
      await waitFor(() => polls() === 1 && manual.pending === 1, 'the baseline poll');

      let events = 0;
      const base = Date.now();
      while (!cut() && events < MAX_EVENTS) {
        events++;
        // A change made at ZStack: a big description and a later lastOpDate, found by the next poll.
        c.setTicketField(uuid, 'description', `${events}:${'x'.repeat(EVENT_BYTES)}`);
        c.setTicketField(uuid, 'lastOpDate', base + events * 1000);
        manual.advance(1000);
        await waitFor(() => polls() === events + 1 && manual.pending === 1, `poll ${events + 1}`);
        const event = await reader.next(5000);
        const description = (event.data?.ticketUpdated as { description?: string } | undefined)?.description;
        expect(description?.startsWith(`${events}:`)).toBe(true);
      }
      expect(cut()).toBe(true);
      expect(events).toBeGreaterThan(1);
      // Its connection was closed: reading now, the client finds the end.
      slow.socket.resume();
      await slow.closed;
      c.setTicketField(uuid, 'description', 'after the cut');
      c.setTicketField(uuid, 'lastOpDate', base + (events + 1) * 1000);
      manual.advance(1000);
      const after = await reader.next(5000);
      expect(after.data).toMatchObject({ ticketUpdated: { uuid, description: 'after the cut' } });
      expect(h.logs.some((l) => l.includes('stream cut: its client does not read'))).toBe(true);
    } finally {
      reader.close();
      slow.socket.destroy();
    }
  }, 60_000);
});

describe('a stream whose consumer stops taking events', () => {
  it(`is cut when more than MAX_QUEUED_EVENTS (${MAX_QUEUED_EVENTS}) wait for it, even with few bytes unsent`, async () => {
    const manual = createManualTimer();
    // No poll runs (the clock never moves): every event is a push of this session's own mutation.
    const feed = createTicketFeed({} as ZStackClient, {
      intervalMs: 1000,
      maxPerSession: 10,
      maxTotal: 10,
      maxBufferedBytes: 1024 * 1024,
      timer: manual.timer,
    });
    let cuts = 0;
    const sink = { buffered: () => 0, cut: () => cuts++ };
    const session = 'a'.repeat(32);
    const stream = feed.subscribe(session, {}, NEVER_ABORTED, { sink });
    const ticket = (i: number) => ({
      uuid: i.toString(16).padStart(32, '0'),
      name: `t${i}`,
      status: 'Pending',
    });
    for (let i = 0; i < MAX_QUEUED_EVENTS; i++) feed.publish(session, ticket(i));
    expect(cuts).toBe(0);
    expect(feed.size).toBe(1);
    feed.publish(session, ticket(MAX_QUEUED_EVENTS));
    expect(cuts).toBe(1);
    expect(feed.size).toBe(0);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    feed.close();
  });
});
