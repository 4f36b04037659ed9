/**
 * Three gateways on one real redis-server while Redis misbehaves: killed and restarted between a
 * mutation and its publish, stalled past REDIS_COMMAND_TIMEOUT_MS, the lease holder dying, a stranger
 * writing to the shared log. Every subscriber on every instance must get every change at least once,
 * never an older state of a ticket after a newer one, within a bound.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { livePollsOf } from '../helpers/feed-calls.js';
import { type Harness, pendingTicketUuids } from '../helpers/harness.js';
import { type RedisServer, skipRedisTests, startRedis } from '../helpers/redis.js';
import { useRedisFixture } from '../helpers/redis-gateways.js';
import { type SseSubscription, subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const WATCH = `subscription($uuids: [ID!], $where: TicketWhere) {
  ticketUpdated(uuids: $uuids, where: $where) { uuid status lastOpDate }
}`;
const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;

const fx = useRedisFixture();

interface Seen {
  uuid: string;
  status: string;
  lastOpDate: string;
  at: number;
}

/** A stream whose events are collected as they come, with when they came. */
interface Recorder {
  name: string;
  events: Seen[];
  stop(): void;
}

function record(name: string, sub: SseSubscription): Recorder {
  const events: Seen[] = [];
  let running = true;
  void (async () => {
    while (running) {
      try {
        const event = (await sub.next(200)) as { data?: { ticketUpdated?: Omit<Seen, 'at'> } };
        const t = event.data?.ticketUpdated;
        if (t) events.push({ ...t, at: performance.now() });
      } catch {
        // nothing within 200 ms: ask again
      }
    }
  })();
  return { name, events, stop: () => (running = false) };
}

async function watch(h: Harness, session: string, variables: Record<string, unknown>, name: string) {
  const sub = await subscribe(h.url, WATCH, variables, session);
  fx.streams.push(sub);
  return record(name, sub);
}

const has = (r: Recorder, uuid: string, status: string) =>
  r.events.some((e) => e.uuid === uuid && e.status === status);

/** No state of a ticket older (lastOpDate) than one the stream had already got. */
function inOrder(r: Recorder): boolean {
  const newest = new Map<string, number>();
  for (const e of r.events) {
    const at = Date.parse(e.lastOpDate);
    if (at < (newest.get(e.uuid) ?? 0)) return false;
    newest.set(e.uuid, at);
  }
  return true;
}

/** What each stream got of one ticket: count, statuses in order, latency of the first. */
function report(what: string, recorders: Recorder[], uuid: string, since: number): string {
  return `${what}: ${recorders
    .map((r) => {
      const mine = r.events.filter((e) => e.uuid === uuid);
      const first = mine[0] === undefined ? 'never' : `${Math.round(mine[0].at - since)} ms`;
      return `${r.name} ${mine.length} [${mine.map((e) => e.status).join(',')}] first ${first}`;
    })
    .join('; ')}`;
}

const pendingTickets = () => pendingTicketUuids(fx.simulator);

const pollsOf = (session: string) => livePollsOf(fx.simulator.controls.requests, session);

const redisLines = (h: Harness, text: string) =>
  h.logs.filter((l) => l.includes('"component":"redis"') && l.includes(text));

describe.skipIf(skipRedisTests)('three gateways while Redis fails', () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(() => own?.stop());

  it('Redis killed between a mutation and its publish, back empty: every stream on every instance gets the change', async () => {
    fx.simulator.controls.reset();
    // No poll during the test: only the shared log (or a catch-up) can bring the change to B and C.
    const hs = await fx.start(3, { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: '60000' }, own.url);
    const [a, b, c] = hs as [Harness, Harness, Harness];
    const session = await a.adminSession();
    const watcher = await c.adminSession(); // another session watching the same ticket
    const [x] = pendingTickets() as [string];
    const recorders = [
      await watch(a, session, { uuids: [x] }, 'A'),
      await watch(b, session, { uuids: [x] }, 'B'),
      await watch(c, session, { uuids: [x] }, 'C'),
      await watch(c, watcher, { uuids: [x] }, 'C(other session)'),
    ];
    // Each instance's first poll of a session is its own (its starting point).
    await waitFor(() => pollsOf(session) >= 3 && pollsOf(watcher) >= 1, 'the first polls');
    try {
      await own.kill();
      const res = await a.gql(CHANGE, { input: { uuid: x, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      const answered = performance.now();
      await own.start();
      await waitFor(
        () => recorders.every((r) => has(r, x, 'REJECTED')),
        'every stream to get the change',
        5000,
      ).finally(() => console.info(report('Redis killed and restarted', recorders, x, answered)));
      await waitFor(() => hs.every((h) => h.gateway.cluster?.up === true), 'every instance back on Redis');
      for (const r of recorders) expect(inOrder(r)).toBe(true);
      for (const h of hs) {
        expect(redisLines(h, 'redis unavailable')).toHaveLength(1);
        expect(redisLines(h, 'redis available again')).toHaveLength(1);
        const line = JSON.parse(redisLines(h, 'redis unavailable')[0] as string);
        expect(line.err).toMatchObject({ type: 'Error', message: expect.any(String) });
        expect(line.err.stack).toMatch(/^\w*Error/);
      }
    } finally {
      for (const r of recorders) r.stop();
    }
  });

  it('Redis stalled past the command timeout: changes reach every instance, and no older state comes after a newer one', async () => {
    fx.simulator.controls.reset();
    const intervalMs = 300;
    const hs = await fx.start(
      3,
      { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: String(intervalMs), REDIS_COMMAND_TIMEOUT_MS: '200' },
      own.url,
    );
    const [a, b, c] = hs as [Harness, Harness, Harness];
    const session = await a.adminSession();
    const [x] = pendingTickets() as [string];
    const recorders = [
      await watch(a, session, { uuids: [x] }, 'A'),
      await watch(b, session, { uuids: [x] }, 'B'),
      await watch(c, session, { uuids: [x] }, 'C'),
    ];
    // Each instance's first poll is its own (its starting point), then the lease holder's.
    await waitFor(() => pollsOf(session) >= 5, 'polling to run');
    let resumed = false;
    try {
      own.pause();
      // A mutation during the stall: its append times out, Redis runs it when it wakes.
      const res = await a.gql(CHANGE, { input: { uuid: x, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      const answered = performance.now();
      await waitFor(() => recorders.every((r) => has(r, x, 'REJECTED')), 'REJECTED everywhere', 5000).finally(
        () => console.info(report('stall: the mutation', recorders, x, answered)),
      );
      // A newer state, a second later (lastOpDate has seconds), made at ZStack during the stall.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      fx.simulator.controls.changeTicketStatus(x, 'reopen');
      const reopened = performance.now();
      await waitFor(() => recorders.every((r) => has(r, x, 'PENDING')), 'PENDING everywhere', 5000).finally(
        () => console.info(report('stall: the change at ZStack', recorders, x, reopened)),
      );
      own.resume();
      resumed = true;
      // Whatever Redis ran late (the timed-out appends) is read now; wait until it all went through.
      await waitFor(
        () => hs.every((h) => h.gateway.cluster?.up === true && h.gateway.cluster.outboxSize === 0),
        'every instance back on Redis, its outbox empty',
        5000,
      );
      const settled = pollsOf(session);
      await waitFor(() => pollsOf(session) >= settled + 2, 'two more polls');
      console.info(report('stall: after SIGCONT', recorders, x, reopened));
      for (const r of recorders) {
        expect(inOrder(r)).toBe(true);
        expect(r.events.filter((e) => e.uuid === x).at(-1)?.status).toBe('PENDING');
      }
      for (const h of hs) {
        expect(redisLines(h, 'redis unavailable')).toHaveLength(1);
        expect(redisLines(h, 'redis available again')).toHaveLength(1);
        // One line per outage, never one per message.
        expect(h.logs.filter((l) => l.includes('redis') && l.includes('"level":40'))).toHaveLength(1);
      }
    } finally {
      if (!resumed) own.resume();
      for (const r of recorders) r.stop();
    }
  });
});

describe.skipIf(skipRedisTests)('three gateways, one of them dies', () => {
  it("the lease holder dies without a word: another instance polls within one interval and a second, and every stream left gets ZStack's change", async () => {
    fx.simulator.controls.reset();
    const intervalMs = 1000;
    const hs = await fx.start(3, { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: String(intervalMs) });
    const [a, b, c] = hs as [Harness, Harness, Harness];
    const session = await a.adminSession();
    const [x] = pendingTickets() as [string];
    // A's stream first: A takes the session's lease.
    const onA = await watch(a, session, { uuids: [x] }, 'A');
    await waitFor(() => pollsOf(session) >= 1, "A's first poll");
    const recorders = [
      await watch(b, session, { uuids: [x] }, 'B'),
      await watch(c, session, { uuids: [x] }, 'C'),
    ];
    const store = new Redis(fx.redis.url);
    try {
      const holder = async () => {
        const keys = await store.keys(`${fx.prefix}lease:*`);
        const value = keys[0] === undefined ? null : await store.get(keys[0]);
        return hs.find((h) => h.gateway.cluster?.instanceId === value);
      };
      await waitFor(() => pollsOf(session) >= 2, "A's second poll");
      expect(await holder()).toBe(a);
      // Its Redis connections cut first: it dies holding the lease (closing releases nothing then).
      await waitFor(() => pollsOf(session) >= 3, 'a fresh renewal');
      await a.gateway.cluster?.close();
      await a.close();
      fx.gateways.splice(fx.gateways.indexOf(a), 1);
      onA.stop();
      const died = performance.now();
      fx.simulator.controls.changeTicketStatus(x, 'reject');
      await waitFor(
        async () => [b, c].includes((await holder()) as Harness),
        'another instance to take the lease',
        5000,
      );
      const takenAfter = performance.now() - died;
      await waitFor(
        () => recorders.every((r) => has(r, x, 'REJECTED')),
        'every stream left to get the change',
        5000,
      ).finally(() =>
        console.info(
          `${report('lease holder died', recorders, x, died)}; lease taken ${Math.round(takenAfter)} ms after`,
        ),
      );
      // The lease runs one interval and a second past its last renewal; a waiting instance claims as
      // it runs out (the bound has half a second for a loaded machine).
      for (const r of recorders) {
        const first = r.events.find((e) => e.uuid === x) as Seen;
        expect(first.at - died).toBeLessThan(intervalMs + 1000 + 500);
        expect(inOrder(r)).toBe(true);
      }
    } finally {
      await store.quit();
      for (const r of recorders) r.stop();
    }
  });

  it("a mutation reaches another session's matching streams on every instance within 100 ms, one read per session per burst", async () => {
    fx.simulator.controls.reset();
    const hs = await fx.start(3, { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: '60000' });
    const [a, b, c] = hs as [Harness, Harness, Harness];
    const session = await a.adminSession();
    const approver = await b.adminSession();
    const uuids = pendingTickets().slice(0, 6);
    const recorders = [
      await watch(b, approver, { where: { statusIn: ['PENDING', 'REJECTED'] } }, 'B'),
      await watch(c, approver, { where: { statusIn: ['PENDING', 'REJECTED'] } }, 'C'),
    ];
    await waitFor(() => pollsOf(approver) >= 2, "the approver's first polls on B and C");
    const latencies: number[] = [];
    for (const uuid of uuids.slice(0, 3)) {
      const res = await a.gql(CHANGE, { input: { uuid, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      const answered = performance.now();
      await waitFor(() => recorders.every((r) => has(r, uuid, 'REJECTED')), 'the change on B and C', 1000);
      latencies.push(...recorders.map((r) => (r.events.find((e) => e.uuid === uuid) as Seen).at - answered));
    }
    latencies.sort((p, q) => p - q);
    const p50 = latencies[Math.floor(latencies.length / 2)] as number;
    console.info(
      `another session's streams after the mutation's answer: ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms (p50 ${p50.toFixed(1)})`,
    );
    expect(p50).toBeLessThan(100);
    // A burst of three mutations at once: each instance reads the changed tickets under the
    // approver's session in one or two calls, never one per change.
    fx.simulator.controls.clearRequests();
    const burst = uuids.slice(3, 6);
    await Promise.all(
      burst.map((uuid) => a.gql(CHANGE, { input: { uuid, statusEvent: 'REJECT' } }, { session })),
    );
    await waitFor(
      () => recorders.every((r) => burst.every((u) => has(r, u, 'REJECTED'))),
      'the burst on B and C',
      2000,
    );
    const reads = fx.simulator.controls.requests.filter(
      (r) => r.path.endsWith('/v1/tickets') && r.headers.authorization === `OAuth ${approver}`,
    ).length;
    expect(reads).toBeLessThanOrEqual(2 * 2);
    for (const r of recorders) {
      r.stop();
      expect(inOrder(r)).toBe(true);
    }
  });

  it('an entry or message not signed with REDIS_KEY_SECRET is dropped and counted; the feed goes on', async () => {
    fx.simulator.controls.reset();
    const hs = await fx.start(2, { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: '60000' });
    const [a, b] = hs as [Harness, Harness];
    const session = await a.adminSession();
    const [x, y] = pendingTickets() as [string, string];
    const onB = await watch(b, session, { uuids: [x, y] }, 'B');
    await waitFor(() => pollsOf(session) >= 1, 'the first poll');
    const store = new Redis(fx.redis.url);
    try {
      // What anyone who can write to Redis can do: name the session (lease keys list it) and append.
      const [lease] = await store.keys(`${fx.prefix}lease:*`);
      const key = (lease as string).slice(`${fx.prefix}lease:`.length);
      const forged = JSON.stringify({
        from: 'stranger',
        key,
        kind: 'poll',
        since: '2099-01-01 00:00:00',
        changes: [{ uuid: x, fp: 'forged', status: 'Approved', name: 'FORGED: approve me, all good' }],
      });
      fx.simulator.controls.clearRequests();
      await store.xadd(`${fx.prefix}feed`, '*', 'm', forged);
      await store.xadd(`${fx.prefix}feed`, '*', 'm', `AAAA.${forged}`);
      await store.publish(`${fx.prefix}job`, JSON.stringify({ job: 'f'.repeat(32), from: 'stranger' }));
      const rejected = async (h: Harness) => {
        const text = await (await fetch(`${h.base}/metrics`)).text();
        return Number(/redis_messages_rejected_total\{reason="signature"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      await waitFor(async () => (await rejected(b)) >= 3, "B's counter", 3000);
      expect(await rejected(a)).toBeGreaterThanOrEqual(3);
      // Nothing was read for it, nothing reached the stream ...
      expect(fx.simulator.controls.requests.filter((r) => r.path.endsWith('/v1/tickets'))).toHaveLength(0);
      expect(onB.events).toHaveLength(0);
      // ... and the forged watermark silenced nothing: a real change still arrives.
      const res = await a.gql(CHANGE, { input: { uuid: y, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      await waitFor(() => has(onB, y, 'REJECTED'), 'the real change on B', 1000);
      expect(onB.events.map((e) => e.uuid)).toEqual([y]);
    } finally {
      await store.quit();
      onB.stop();
    }
  });

  it('a Redis ACL user in REDIS_URL, limited to the prefix and kept from dangerous commands, is all the gateways need', async () => {
    fx.simulator.controls.reset();
    const admin = new Redis(fx.redis.url);
    try {
      // This fixture's prefixes are t1:, t2:, ...
      await admin.call(
        'ACL',
        'SETUSER',
        'gateway',
        'on',
        '>gateway-test-password',
        'resetkeys',
        '~t*',
        'resetchannels',
        '&t*',
        '+@all',
        '-@dangerous',
      );
      const url = `redis://gateway:gateway-test-password@127.0.0.1:${fx.redis.port}`;
      const [a, b] = (await fx.start(2, { LOG_LEVEL: 'info', TICKET_POLL_INTERVAL_MS: '60000' }, url)) as [
        Harness,
        Harness,
      ];
      const session = await a.adminSession();
      const [x] = pendingTickets() as [string];
      const onB = await watch(b, session, { uuids: [x] }, 'B');
      await waitFor(() => pollsOf(session) >= 1, 'the first poll');
      const res = await a.gql(CHANGE, { input: { uuid: x, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      await waitFor(() => has(onB, x, 'REJECTED'), 'the change on B', 2000);
      onB.stop();
      for (const h of [a, b]) {
        expect(redisLines(h, 'redis unavailable')).toHaveLength(0);
        expect(h.logs.join('\n')).not.toContain('gateway-test-password');
      }
    } finally {
      await admin.call('ACL', 'DELUSER', 'gateway');
      await admin.quit();
    }
  });
});
