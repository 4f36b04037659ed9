/**
 * The live feed's side of several gateways, deterministic: two feeds in front of the simulator share
 * an in-memory stand-in for Redis (a log, leases on the feeds' manual clock), so which claim fails,
 * when entries arrive and when a lease runs out are the test's choice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEVER_ABORTED } from '../../src/http/close-signal.js';
import type { FeedShare } from '../../src/live/cluster.js';
import { pollLeaseMs } from '../../src/live/feed-schedule.js';
import type { FeedEntry } from '../../src/live/shared-log.js';
import { createTicketFeed, type TicketFeed } from '../../src/live/ticket-feed.js';
import type { ApiTicket } from '../../src/zstack/types.js';
import { livePollsOf } from '../helpers/feed-calls.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { createManualTimer, type ManualTimer } from '../helpers/manual-timer.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL_MS = 1000;

/** Redis as the feeds see it: one log, leases that expire on the manual clock. */
function createFakeRedis(manual: ManualTimer) {
  const log: { from: string; entry: FeedEntry }[] = [];
  const leases = new Map<string, { holder: string; until: number }>();
  const claims = { a: 0, b: 0 } as Record<string, number>;
  return {
    log,
    leases,
    claims,
    share(id: string, faults: { claim: boolean }): FeedShare {
      return {
        keyOf: (session) => `k${session.slice(0, 8)}`,
        async claim(key, ttlMs) {
          claims[id] = (claims[id] ?? 0) + 1;
          if (faults.claim) throw new Error('Command timed out');
          const now = manual.timer.now();
          const lease = leases.get(key);
          if (lease === undefined || lease.until <= now || lease.holder === id) {
            leases.set(key, { holder: id, until: now + ttlMs });
            return { mine: true, retryInMs: 0 };
          }
          return { mine: false, retryInMs: lease.until - now };
        },
        release(key) {
          if (leases.get(key)?.holder === id) leases.delete(key);
        },
        append(entry) {
          log.push({ from: id, entry: structuredClone(entry) });
        },
      };
    },
  };
}

/** Every event a stream gives, as it gives them. */
function collect(stream: AsyncIterableIterator<ApiTicket>): ApiTicket[] {
  const got: ApiTicket[] = [];
  void (async () => {
    for await (const t of stream) got.push(t);
  })();
  return got;
}

describe('the live feed with a shared log (in-memory Redis, manual clock)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ZSTACK_TIME_ZONE: 'UTC' } });
  });
  afterAll(() => h.close());

  const pollsOf = (session: string) => livePollsOf(h.simulator.controls.requests, session);

  async function setUp() {
    h.simulator.controls.reset();
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const manual = createManualTimer();
    const redis = createFakeRedis(manual);
    const faults = { a: { claim: false }, b: { claim: false } };
    const feed = (id: 'a' | 'b') =>
      createTicketFeed(h.gateway.client, {
        intervalMs: INTERVAL_MS,
        maxPerSession: 10,
        maxTotal: 10,
        timer: manual.timer,
        share: redis.share(id, faults[id]),
      });
    const a = feed('a');
    const b = feed('b');
    let delivered = 0;
    /** Hands every log entry not yet delivered to the other feeds, in log order. */
    const deliver = () => {
      for (const { from, entry } of redis.log.slice(delivered)) {
        if (from !== 'a') a.received(entry);
        if (from !== 'b') b.received(entry);
      }
      delivered = redis.log.length;
    };
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    return { c, session, manual, redis, faults, a, b, deliver, uuid };
  }

  /** Waits until `n` polls of the session reached the simulator (each answered as ZStack was then). */
  const pollsReach = (session: string, n: number) => waitFor(() => pollsOf(session) >= n, `${n} polls`);

  it("the holder's claim times out while the other's says held: the holder polls alone, appends the change then its watermark, and the other's stream gets it", async () => {
    const { c, session, manual, redis, faults, a, b, deliver, uuid } = await setUp();
    const onA = collect(a.subscribe(session, { uuids: new Set([uuid]) }, NEVER_ABORTED));
    manual.advance(0);
    await pollsReach(session, 1); // A's first poll: the lease is A's
    const onB = collect(b.subscribe(session, { uuids: new Set([uuid]) }, NEVER_ABORTED));
    manual.advance(0);
    await pollsReach(session, 2); // B's own first poll (its starting point); the lease stays A's
    expect(redis.leases.get(`k${session.slice(0, 8)}`)?.holder).toBe('a');
    faults.a.claim = true; // only A's claim times out (Redis slow for that one command)
    c.changeTicketStatus(uuid, 'reject');
    await waitFor(() => manual.pending === 2, 'both first polls over, the next ones scheduled');
    manual.advance(INTERVAL_MS);
    await pollsReach(session, 3); // A polls alone; B's claim said "held by A" and B did not poll
    await waitFor(() => onA.length === 1 && redis.log.length > 0, "the change on A's stream and in the log");
    expect(pollsOf(session)).toBe(3);
    expect(onA.map((t) => t.status)).toEqual(['Rejected']);
    const polls = redis.log.filter((e) => e.entry.kind === 'poll');
    expect(polls.at(-1)?.entry.changes.map((ch) => [ch.uuid, ch.status])).toEqual([[uuid, 'Rejected']]);
    expect(polls.at(-1)?.entry.since).toBeDefined();
    expect(JSON.stringify(redis.log)).not.toContain('apiBody');
    deliver();
    await waitFor(() => onB.length === 1, "the change on B's stream");
    expect(onB.map((t) => t.status)).toEqual(['Rejected']);
    a.close();
    b.close();
  });

  it('a holder that stops renewing: the other claims the moment its lease runs out, not later', async () => {
    const { c, session, manual, redis, a, b, uuid } = await setUp();
    collect(a.subscribe(session, { uuids: new Set([uuid]) }, NEVER_ABORTED));
    manual.advance(0);
    await pollsReach(session, 1);
    const onB = collect(b.subscribe(session, { uuids: new Set([uuid]) }, NEVER_ABORTED));
    manual.advance(0);
    await pollsReach(session, 2);
    const key = `k${session.slice(0, 8)}`;
    const renewed = redis.leases.get(key)?.until as number;
    // A dies: its timers stop, its lease stays (nobody releases it).
    const dead = { ...redis.leases.get(key) } as { holder: string; until: number };
    a.close();
    redis.leases.set(key, dead);
    c.changeTicketStatus(uuid, 'reject');
    // B claims each interval and is told when the lease runs out.
    await waitFor(() => manual.pending === 1, "B's first poll over, its next one scheduled");
    while (manual.timer.now() + INTERVAL_MS < renewed) {
      const claimed = redis.claims.b as number;
      manual.advance(INTERVAL_MS);
      await waitFor(() => (redis.claims.b as number) > claimed && manual.pending === 1, "B's claim");
    }
    manual.advance(renewed - manual.timer.now() + 5);
    await pollsReach(session, 3);
    expect(redis.leases.get(key)?.holder).toBe('b');
    await waitFor(() => onB.length === 1, "the change on B's stream");
    // Only that poll: none before the lease ran out.
    expect(pollsOf(session)).toBe(3);
    // A lease is renewed at every poll and outlives it by one interval and a second.
    expect(pollLeaseMs(INTERVAL_MS)).toBe(INTERVAL_MS + 1000);
    b.close();
  });

  it('never an older state after a newer one: a late copy of an earlier state is dropped', () => {
    const manual = createManualTimer();
    const feed: TicketFeed = createTicketFeed(h.gateway.client, {
      intervalMs: 60_000,
      maxPerSession: 10,
      maxTotal: 10,
      timer: manual.timer,
    });
    const session = 'a'.repeat(32);
    const got = collect(feed.subscribe(session, {}, NEVER_ABORTED));
    const state = (status: string, lastOpDate: string) => ({ uuid: 'b'.repeat(32), status, lastOpDate });
    feed.publish(session, state('Pending', 'Dec 4, 2026 12:26:12 PM'));
    feed.publish(session, state('Rejected', 'Dec 4, 2026 12:26:11 PM')); // older: dropped
    feed.publish(session, state('Pending', 'Dec 4, 2026 12:26:12 PM')); // the same again: dropped
    feed.publish(session, state('Rejected', 'Dec 4, 2026 12:26:13 PM'));
    return waitFor(() => got.length >= 2, 'the events').then(() => {
      expect(got.map((t) => [t.status, t.lastOpDate])).toEqual([
        ['Pending', 'Dec 4, 2026 12:26:12 PM'],
        ['Rejected', 'Dec 4, 2026 12:26:13 PM'],
      ]);
      feed.close();
    });
  });
});
