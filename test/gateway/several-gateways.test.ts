/**
 * Several gateways in front of ONE fx.simulator, sharing a real redis-server (REDIS_URL): pushes across
 * instances, one live-update poll per session whatever the number of instances, job callbacks that
 * land on another instance, and Redis going away and coming back.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { livePollsOf, ticketQueriesOf } from '../helpers/feed-calls.js';
import { type Harness, pendingTicketUuids, type StartOptions, startHarness } from '../helpers/harness.js';
import { forgeCallbacksWhileRunning } from '../helpers/job-callback.js';
import { createManualTimer } from '../helpers/manual-timer.js';
import { type RedisServer, skipRedisTests, startRedis } from '../helpers/redis.js';
import { REDIS_TEST_SECRET, useRedisFixture } from '../helpers/redis-gateways.js';
import { subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const WATCH = `subscription($uuids: [ID!], $where: TicketWhere) {
  ticketUpdated(uuids: $uuids, where: $where) { uuid status lastOpDate }
}`;
const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;
const LIST = '{ tickets(first: 3) { nodes { uuid status } } }';

const fx = useRedisFixture();

/** `n` gateways in front of the one fx.simulator, on `url`'s Redis, each with its own keys (a fresh prefix per test). */
const startGateways = (n: number, env: Record<string, string>, url?: string, deps?: StartOptions['deps']) =>
  fx.start(n, { LOG_LEVEL: 'info', ...env }, url, deps);

const pendingTickets = () => pendingTicketUuids(fx.simulator);

const pollsOf = (session: string) => livePollsOf(fx.simulator.controls.requests, session);
/** The session's reads of named tickets. */
const readsOf = (session: string) =>
  ticketQueriesOf(fx.simulator.controls.requests, session).length - pollsOf(session);

async function watch(h: Harness, session: string, variables: Record<string, unknown>) {
  const sub = await subscribe(h.url, WATCH, variables, session);
  fx.streams.push(sub);
  return sub;
}

const redisLines = (h: Harness, text: string) =>
  h.logs.filter((l) => l.includes('"component":"redis"') && l.includes(text)).length;

/** The job uuids `h`'s upstream client was told of (a callback there, or relayed through Redis). */
const notificationsOf = (h: Harness): string[] => h.jobNotices.map((n) => n.jobUuid);

describe.skipIf(skipRedisTests)('several gateways on one Redis', () => {
  it('a subscriber on B sees a mutation made through A within 100 ms (pushed, not polled)', async () => {
    fx.simulator.controls.reset();
    const [a, b] = (await startGateways(2, { TICKET_POLL_INTERVAL_MS: '60000' })) as [Harness, Harness];
    const session = await a.adminSession();
    // What anyone reading Redis sees: its keys and values, and every message on its channels.
    const spy = new Redis(fx.redis.url);
    const heard: string[] = [];
    spy.on('pmessage', (_pattern: string, channel: string, message: string) => heard.push(channel, message));
    await spy.psubscribe('*');
    const uuids = pendingTickets().slice(0, 3);
    const sub = await watch(b, session, { uuids });
    await waitFor(() => pollsOf(session) === 1, "the session's first poll");
    const latencies: number[] = [];
    for (const [i, uuid] of uuids.entries()) {
      const res = await a.gql(
        CHANGE,
        { input: { uuid, statusEvent: i === 1 ? 'REJECT' : 'APPROVE' } },
        { session },
      );
      expect(res.errors).toBeUndefined();
      const answered = performance.now();
      const event = await sub.next(100);
      latencies.push(performance.now() - answered);
      expect(event.data).toMatchObject({ ticketUpdated: { uuid } });
    }
    // B polled once (its starting point) and read each changed ticket once, by uuid.
    expect(pollsOf(session)).toBe(1);
    expect(readsOf(session)).toBe(3);
    const store = new Redis(fx.redis.url);
    const keys = await store.keys('*');
    expect(keys.length).toBeGreaterThan(1); // the session's poll lease and the shared log
    const storedValue = async (k: string) =>
      (await store.type(k)) === 'stream'
        ? JSON.stringify(await store.xrange(k, '-', '+'))
        : String(await store.get(k));
    const stored = [...keys, ...(await Promise.all(keys.map(storedValue)))];
    await Promise.all([spy.quit(), store.quit()]);
    const everything = [...stored, ...heard].join('\n');
    expect(everything).not.toContain(session);
    expect(everything.toLowerCase()).not.toContain(session.replaceAll('-', '').toLowerCase());
    console.info(
      `push A → B after the mutation's answer: ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms`,
    );
  });

  it('one live-update query per session per interval with 1, 2 and 3 instances; every instance gets the changes', async () => {
    const intervalMs = 200;
    const rounds = 10;
    for (const n of [1, 2, 3]) {
      fx.simulator.controls.reset();
      // One clock for every instance's feed, moved by hand: a round is one poll interval.
      const clock = createManualTimer();
      const hs = await startGateways(n, { TICKET_POLL_INTERVAL_MS: String(intervalMs) }, undefined, {
        feedTimer: clock.timer,
      });
      const session = await (hs[0] as Harness).adminSession();
      const subs = [];
      for (const h of hs)
        subs.push(await watch(h, session, { where: { statusIn: ['PENDING', 'REJECTED'] } }));
      await waitFor(() => hs.every((h) => h.gateway.feed.size === 1), 'a stream on every instance');
      // A round is over when every instance has its next poll set again (none is polling).
      const settled = () => waitFor(() => clock.pending === n, 'every instance to set its next poll');
      // Each instance's first poll is its own (its starting point).
      clock.advance(0);
      await waitFor(() => pollsOf(session) >= n, 'every first poll');
      await settled();
      expect(pollsOf(session)).toBe(n);
      for (let round = 1; round <= rounds; round++) {
        clock.advance(intervalMs);
        await waitFor(() => pollsOf(session) >= n + round, `round ${round}'s poll`);
        await settled();
      }
      // Then only the lease holder's: one query an interval, whatever the number of instances.
      expect(pollsOf(session) - n).toBe(rounds);
      const uuid = pendingTickets()[0] as string;
      fx.simulator.controls.changeTicketStatus(uuid, 'reject'); // made at ZStack: only a poll finds it
      clock.advance(intervalMs);
      for (const sub of subs) {
        const event = await sub.next(3000);
        expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: 'REJECTED' } });
      }
      expect(pollsOf(session) - n).toBe(rounds + 1);
      for (const sub of subs) sub.close();
      await Promise.all(hs.map((h) => h.close()));
      fx.gateways.splice(0);
    }
  });

  it("a job callback received by B completes the mutation waiting on A before A's next poll", async () => {
    fx.simulator.controls.reset();
    const hookPath = '/zstack-webhook/Xk3qT9vLm2Rw8ZpA4sNd7Yc1';
    // B serves the callback path; A's writes tell ZStack to call B back.
    const [b] = (await startGateways(1, {
      ZSTACK_WEBHOOK_URL: `http://127.0.0.1:9${hookPath}`,
    })) as [Harness];
    const prefix = fx.prefix;
    const a = await startHarness({
      upstream: fx.simulator,
      env: {
        ZSTACK_TIME_ZONE: 'UTC',
        REDIS_URL: fx.redis.url,
        REDIS_KEY_SECRET: REDIS_TEST_SECRET,
        REDIS_KEY_PREFIX: prefix,
        ZSTACK_WEBHOOK_URL: `${b.base}${hookPath}`,
      },
    });
    fx.gateways.push(a);
    await waitFor(() => a.gateway.cluster?.up === true, 'A to reach Redis');
    const session = await a.adminSession();
    const uuid = pendingTickets()[0] as string;
    // A 1.6 s job: A's fallback polls (webhook mode, nothing learnt yet) go at 0, 0.1, 0.3, 0.7, 1.5 and
    // 2.5 s after the 202, so only the callback explains an answer within a few hundred ms of its end.
    fx.simulator.controls.setJobLatency(1600);
    try {
      fx.simulator.controls.clearRequests();
      const res = await a.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
      expect(res.errors).toBeUndefined();
      const polls = fx.simulator.controls.requests.filter((r) => r.path.includes('/v1/api-jobs/'));
      const jobUuid = polls[0]?.path.split('/').pop() as string;
      expect(fx.simulator.controls.jobOf(jobUuid)?.state).toBe('succeeded');
      expect(notificationsOf(b)).toEqual([jobUuid]); // ZStack called B back ...
      expect(notificationsOf(a)).toEqual([jobUuid]); // ... and B told A through Redis
      const last = polls[polls.length - 1];
      const afterCallback = (last?.at ?? 0) - (b.jobNotices[0]?.at ?? 0);
      console.info(`callback on B → A's poll ${afterCallback} ms later (${polls.length} job polls)`);
      expect(afterCallback).toBeLessThan(500);
      // The 202 came before the first poll; the next scheduled poll would have been 2.5 s after it.
      expect((last?.at ?? 0) - (polls[0]?.at ?? 0)).toBeLessThan(2400);
    } finally {
      fx.simulator.controls.setJobLatency(0);
    }
  });

  it('forged callbacks flooding B for a job A waits on: relayed, yet A polls at most once per ZSTACK_WEBHOOK_WAKE_INTERVAL_MS', async () => {
    fx.simulator.controls.reset();
    const hookPath = '/zstack-webhook/Xk3qT9vLm2Rw8ZpA4sNd7Yc1';
    // ZStack's own callbacks go nowhere (port 9): every callback B gets here is forged.
    const [a, b] = (await startGateways(2, { ZSTACK_WEBHOOK_URL: `http://127.0.0.1:9${hookPath}` })) as [
      Harness,
      Harness,
    ];
    const session = await a.adminSession();
    const uuid = pendingTickets()[0] as string;
    fx.simulator.controls.setJobLatency(1500);
    try {
      fx.simulator.controls.clearRequests();
      const jobPolls = () => fx.simulator.controls.requests.filter((r) => r.path.includes('/v1/api-jobs/'));
      const call = a.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
      await waitFor(() => jobPolls().length >= 1, 'the first job poll');
      const jobUuid = jobPolls()[0]?.path.split('/').pop() as string;
      const running = () => fx.simulator.controls.jobOf(jobUuid)?.state === 'running';
      const sender = () => forgeCallbacksWhileRunning(`${b.base}${hookPath}`, jobUuid, running);
      const [res, ...sent] = await Promise.all([call, ...Array.from({ length: 10 }, sender)]);
      const forged = sent.reduce((a, n) => a + n, 0);
      expect(res.errors).toBeUndefined();
      expect(forged).toBeGreaterThan(50);
      expect(a.jobNotices.length).toBeGreaterThan(50); // relayed through Redis ...
      // ... but 1.5 s of job costs A the fallback schedule's few polls plus at most one per 250 ms.
      expect(jobPolls().length).toBeLessThanOrEqual(14);
      console.info(
        `forged callbacks on B: ${forged}, relayed to A: ${a.jobNotices.length}, A's job polls: ${jobPolls().length}`,
      );
    } finally {
      fx.simulator.controls.setJobLatency(0);
    }
  });

  it("when the polling instance's last stream leaves, another takes the session over: no event twice, none lost", async () => {
    fx.simulator.controls.reset();
    const intervalMs = 200;
    const hs = await startGateways(2, { TICKET_POLL_INTERVAL_MS: String(intervalMs) });
    const session = await (hs[0] as Harness).adminSession();
    const subs = [];
    for (const h of hs) subs.push(await watch(h, session, { where: {} }));
    await waitFor(() => pollsOf(session) >= 2, 'polling to run');
    // Which instance holds the session's poll lease (the only key in this test's prefix).
    const store = new Redis(fx.redis.url);
    const holder = async () => {
      const keys = await store.keys(`${fx.prefix}lease:*`);
      const value = keys[0] === undefined ? null : await store.get(keys[0]);
      return hs.findIndex((h) => h.gateway.cluster?.instanceId === value);
    };
    try {
      const leader = await holder();
      expect(leader).toBeGreaterThanOrEqual(0);
      const other = 1 - leader;
      subs[leader]?.close();
      await waitFor(async () => (await holder()) === other, 'the other instance to take the lease', 5000);
      const taken = pollsOf(session);
      await waitFor(() => pollsOf(session) >= taken + 2, 'its own polls');
      // Its first polls found the tickets at the watermark the first poller had seen: nothing new.
      expect(subs[other]?.pending).toBe(0);
      const uuid = pendingTickets()[0] as string;
      fx.simulator.controls.changeTicketStatus(uuid, 'reject');
      const event = await subs[other]?.next(intervalMs * 4);
      expect(event?.data).toMatchObject({ ticketUpdated: { uuid, status: 'REJECTED' } });
    } finally {
      await store.quit();
    }
  });

  it('logIn limits are counted in Redis: two instances allow what one would', async () => {
    const [a, b] = (await startGateways(2, {
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '4',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '3',
    })) as [Harness, Harness];
    const { admin, approvers } = fx.simulator.controls.demo;
    const approver = approvers[0] as { name: string; password: string };
    const LOG_IN = 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }';
    const guess = async (h: Harness, password: string) =>
      (await h.gql(LOG_IN, { i: { accountName: admin.accountName, password } })).errors?.[0]?.extensions
        ?.code;
    fx.simulator.controls.clearRequests();
    const logins = () => fx.simulator.controls.requests.filter((r) => r.path.endsWith('/login')).length;
    expect([await guess(a, 'g1'), await guess(b, 'g2'), await guess(a, 'g3')]).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
    ]);
    // The account's failures, counted across instances.
    expect(await guess(b, admin.password)).toBe('RATE_LIMITED');
    expect(logins()).toBe(3);
    // The client's attempts too: 4 so far (the refused one included), so a fifth anywhere is refused.
    const other = await a.gql(LOG_IN, {
      i: { kind: 'IAM2_VIRTUAL_ID', virtualIdName: approver.name, password: approver.password },
    });
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'client' });
    expect(logins()).toBe(3);
  });

  it('without REDIS_URL an instance has no cluster and works alone', async () => {
    fx.simulator.controls.reset();
    const h = await startHarness({ upstream: fx.simulator, env: { ZSTACK_TIME_ZONE: 'UTC' } });
    fx.gateways.push(h);
    expect(h.gateway.cluster).toBeUndefined();
    const session = await h.adminSession();
    const res = await h.gql(LIST, {}, { session });
    expect(res.errors).toBeUndefined();
  });
});

describe.skipIf(skipRedisTests)('Redis stopped mid-test and started again', () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(() => own?.stop());

  it('no query or mutation fails; instances poll alone, then share again; live updates go on', async () => {
    fx.simulator.controls.reset();
    const intervalMs = 300;
    const [a, b] = (await startGateways(2, { TICKET_POLL_INTERVAL_MS: String(intervalMs) }, own.url)) as [
      Harness,
      Harness,
    ];
    const session = await a.adminSession();
    const [x, y, z] = pendingTickets() as [string, string, string];
    const subB = await watch(b, session, { uuids: [x, y, z] });
    const subA = await watch(a, session, { uuids: [x, y, z] });
    // Each instance's first poll is its own (its starting point).
    await waitFor(() => pollsOf(session) >= 2, 'the first polls');

    // Queries through both instances all along, until the end of the test (another session: its
    // ticket queries are not the live-update polls counted below).
    const reader = await b.adminSession();
    const failures: unknown[] = [];
    let running = true;
    let served = 0;
    const load = async (h: Harness) => {
      while (running) {
        const res = await h.gql(LIST, {}, { session: reader });
        if (res.errors !== undefined || res.status !== 200) failures.push(res.errors ?? res.status);
        served++;
      }
    };
    const loads = [load(a), load(b)];
    try {
      await own.stop();
      await waitFor(
        () => a.gateway.cluster?.up === false && b.gateway.cluster?.up === false,
        'both to see Redis gone',
      );
      // A mutation through A: pushed on A at once; B's subscriber gets it from B's own poll.
      const res = await a.gql(CHANGE, { input: { uuid: x, statusEvent: 'REJECT' } }, { session });
      expect(res.errors).toBeUndefined();
      expect((await subA.next(1000)).data).toMatchObject({ ticketUpdated: { uuid: x, status: 'REJECTED' } });
      expect((await subB.next(intervalMs * 4)).data).toMatchObject({
        ticketUpdated: { uuid: x, status: 'REJECTED' },
      });
      // (Nothing crosses instances now: B's stream got it from B's own poll.)

      await own.start();
      await waitFor(
        () => a.gateway.cluster?.up === true && b.gateway.cluster?.up === true,
        'both to rejoin',
        10_000,
      );
      // Live updates resume across instances: a mutation through A reaches B's subscriber at once.
      const res2 = await a.gql(CHANGE, { input: { uuid: y, statusEvent: 'REJECT' } }, { session });
      expect(res2.errors).toBeUndefined();
      expect((await subB.next(intervalMs)).data).toMatchObject({
        ticketUpdated: { uuid: y, status: 'REJECTED' },
      });
      expect((await subA.next(1000)).data).toMatchObject({ ticketUpdated: { uuid: y, status: 'REJECTED' } });
      // And one poll per interval again (two instances alone would poll about twice as often).
      const windowMs = 2000;
      await waitFor(() => pollsOf(session) > 0, 'polling');
      const before = pollsOf(session);
      const started = Date.now();
      fx.simulator.controls.changeTicketStatus(z, 'reject');
      expect((await subB.next(intervalMs * 4)).data).toMatchObject({ ticketUpdated: { uuid: z } });
      expect((await subA.next(intervalMs * 4)).data).toMatchObject({ ticketUpdated: { uuid: z } });
      await new Promise((resolve) => setTimeout(resolve, started + windowMs - Date.now()));
      expect(pollsOf(session) - before).toBeLessThanOrEqual(windowMs / intervalMs + 2);
    } finally {
      running = false;
      await Promise.all(loads);
    }
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(10);
    for (const h of [a, b]) {
      expect(redisLines(h, 'redis unavailable')).toBe(1);
      expect(redisLines(h, 'redis connected')).toBe(1);
      expect(redisLines(h, 'redis available again')).toBe(1);
    }
  });
});
