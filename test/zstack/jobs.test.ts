import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Exchange } from '../../src/zstack/call-types.js';
import { ZStackAbortedError, ZStackJobPendingError } from '../../src/zstack/errors.js';
import {
  type JobSample,
  nextEstimateMs,
  nextPollDelayMs,
  type PollState,
} from '../../src/zstack/job-schedule.js';
import { type JobEvent, type JobTransport, JobWaits } from '../../src/zstack/jobs.js';

const JOB = 'b'.repeat(32);
const ROUTE = '/v1/tickets/{uuid}/actions';
const RUNNING: Exchange = { status: 202, text: '{}' };
const DONE: Exchange = { status: 200, text: '{"inventory":{"uuid":"t"}}' };

const state = (s: Partial<PollState>): PollState => ({
  elapsedMs: 0,
  estimateMs: undefined,
  backoffSteps: 0,
  webhook: false,
  remainingMs: 60_000,
  ...s,
});

describe('nextPollDelayMs: the poll schedule after a "running" answer', () => {
  it.each<[string, Partial<PollState>, number]>([
    ['cold: first step 10 ms', { elapsedMs: 0 }, 10],
    ['cold: doubles', { elapsedMs: 10, backoffSteps: 1 }, 20],
    ['cold: doubles again', { elapsedMs: 30, backoffSteps: 2 }, 40],
    ['cold: 7th step 640 ms', { elapsedMs: 630, backoffSteps: 6 }, 640],
    ['cold: capped at 1 s', { elapsedMs: 1270, backoffSteps: 7 }, 1000],
    ['cold: no overflow after many steps', { elapsedMs: 60_000, backoffSteps: 2000 }, 1000],
    ['webhook, cold: fallback starts at 100 ms', { webhook: true }, 100],
    ['webhook, cold: doubles', { webhook: true, backoffSteps: 2 }, 400],
    ['webhook, cold: capped at 1 s', { webhook: true, backoffSteps: 4 }, 1000],
    ['learned 50 ms: next poll just after the expected end', { estimateMs: 50, elapsedMs: 0 }, 51],
    ['learned 50 ms: from later on, still aimed at the end', { estimateMs: 50, elapsedMs: 30 }, 21],
    ['learned 50 ms, webhook: the prediction is not slowed', { estimateMs: 50, webhook: true }, 51],
    ['learned 50 ms, end passed: 2 ms step', { estimateMs: 50, elapsedMs: 51 }, 2],
    ['learned 50 ms, end passed: doubles', { estimateMs: 50, elapsedMs: 53, backoffSteps: 1 }, 4],
    [
      'learned 50 ms, end passed, webhook: 100 ms fallback',
      { estimateMs: 50, elapsedMs: 51, webhook: true },
      100,
    ],
    ['learned 1 s, end passed: 4% of it', { estimateMs: 1000, elapsedMs: 1001 }, 40],
    [
      'learned 30 s, end passed: first step 4% even past 1 s',
      { estimateMs: 30_000, elapsedMs: 30_001 },
      1200,
    ],
    [
      'learned 30 s, end passed: then capped',
      { estimateMs: 30_000, elapsedMs: 31_201, backoffSteps: 1 },
      1000,
    ],
    ['never past the job timeout or deadline (prediction)', { estimateMs: 50, remainingMs: 20 }, 20],
    ['never past the job timeout or deadline (backoff)', { backoffSteps: 5, remainingMs: 7 }, 7],
  ])('%s', (_name, s, delay) => {
    expect(nextPollDelayMs(state(s))).toBe(delay);
  });
});

describe('nextEstimateMs: what a finished job teaches about its route', () => {
  it.each<[string, JobSample, number]>([
    [
      'first job, done at the first poll',
      { estimateMs: undefined, lastRunningMs: undefined, doneAtMs: 0, predictedHit: false },
      0,
    ],
    [
      'first job: midway between last running and done',
      { estimateMs: undefined, lastRunningMs: 30, doneAtMs: 70, predictedHit: false },
      50,
    ],
    [
      'predicted poll found it done: probe 2% earlier',
      { estimateMs: 50, lastRunningMs: 0, doneAtMs: 51, predictedHit: true },
      49,
    ],
    [
      'underestimate: corrected at once',
      { estimateMs: 50, lastRunningMs: 70, doneAtMs: 90, predictedHit: false },
      80,
    ],
    [
      'overestimate: corrected slowly (30%)',
      { estimateMs: 100, lastRunningMs: 40, doneAtMs: 60, predictedHit: false },
      85,
    ],
    [
      'webhook wake pins the end to the poll',
      { estimateMs: 100, lastRunningMs: 60, doneAtMs: 60, predictedHit: false },
      88,
    ],
  ])('%s', (_name, sample, estimate) => {
    expect(nextEstimateMs(sample)).toBeCloseTo(estimate, 9);
  });
});

/** JobWaits over a scripted transport, in fake time: `answer` decides each poll's reply. */
function scripted(
  answer: (poll: number, elapsedMs: number) => Exchange,
  options: { jobTimeoutMs?: number; webhook?: boolean } = {},
) {
  const start = Date.now();
  /** Fake-time ms (since start) of every poll sent. */
  const polls: number[] = [];
  const events: JobEvent[] = [];
  const transport: JobTransport = {
    url: (path) => `/zstack/v1${path}`,
    get: async () => {
      polls.push(Date.now() - start);
      return answer(polls.length, Date.now() - start);
    },
  };
  const jobs = new JobWaits({
    transport,
    jobTimeoutMs: options.jobTimeoutMs ?? 60_000,
    webhook: options.webhook ?? false,
    onJob: (e) => events.push(e),
  });
  return { jobs, polls, events, start };
}

/** Settles `p` into a value or an error, so a rejection is never unhandled while time is advanced. */
function settle(p: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('JobWaits in fake time', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cold: polls at once, then at 10, 30, 70… ms until the job is done', async () => {
    const s = scripted((n) => (n < 8 ? RUNNING : DONE));
    const done = settle(s.jobs.wait(JOB, ROUTE, undefined, true));
    await vi.advanceTimersByTimeAsync(2000);
    expect(await done).toEqual({ value: { inventory: { uuid: 't' } } });
    expect(s.polls).toEqual([0, 10, 30, 70, 150, 310, 630, 1270]);
    expect(s.events).toEqual([
      { jobUuid: JOB, route: ROUTE, polls: 8, waitMs: 1270, outcome: 'succeeded', tag: undefined },
    ]);
  });

  it('webhook mode: the fallback polling starts at 100 ms', async () => {
    const s = scripted((n) => (n < 4 ? RUNNING : DONE), { webhook: true });
    const done = settle(s.jobs.wait(JOB, ROUTE, undefined, true));
    await vi.advanceTimersByTimeAsync(2000);
    expect((await done).error).toBeUndefined();
    expect(s.polls).toEqual([0, 100, 300, 700]);
  });

  it('still running at the job timeout → ZStackJobPendingError, with a last poll at the timeout', async () => {
    const s = scripted(() => RUNNING, { jobTimeoutMs: 300 });
    const done = settle(s.jobs.wait(JOB, ROUTE, { tag: 'req-1' }, true));
    await vi.advanceTimersByTimeAsync(300);
    const { error } = await done;
    expect(error).toBeInstanceOf(ZStackJobPendingError);
    expect(error).toMatchObject({ jobUuid: JOB });
    expect(s.polls).toEqual([0, 10, 30, 70, 150, 300]);
    expect(s.events).toEqual([
      { jobUuid: JOB, route: ROUTE, polls: 6, waitMs: 300, outcome: 'pending', tag: 'req-1' },
    ]);
  });

  it("the caller's deadline ends the wait as pending, without a poll past it", async () => {
    const s = scripted(() => RUNNING);
    const done = settle(s.jobs.wait(JOB, ROUTE, { deadline: s.start + 250 }, true));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await done).error).toBeInstanceOf(ZStackJobPendingError);
    expect(s.polls).toEqual([0, 10, 30, 70, 150]);
    expect(s.events[0]).toMatchObject({ outcome: 'pending', waitMs: 250 });
  });

  it('notifyJobDone wakes the wait at once; a notification for another job does not', async () => {
    let done = false;
    const s = scripted(() => (done ? DONE : RUNNING));
    const result = settle(s.jobs.wait(JOB, ROUTE, undefined, true));
    await vi.advanceTimersByTimeAsync(730); // 7 polls (the last at 630 ms), the next due at 1270 ms
    expect(s.polls).toHaveLength(7);
    done = true;
    s.jobs.notifyJobDone('f'.repeat(32));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.polls).toHaveLength(7);
    s.jobs.notifyJobDone(JOB);
    expect(await result).toEqual({ value: { inventory: { uuid: 't' } } });
    expect(s.polls).toEqual([0, 10, 30, 70, 150, 310, 630, 730]);
    expect(s.events[0]).toMatchObject({ outcome: 'succeeded', waitMs: 730 });
  });

  it('a flood of callbacks for one job wakes its polling at most once per 250 ms', async () => {
    const s = scripted(() => RUNNING, { webhook: true, jobTimeoutMs: 2_000 });
    const result = settle(s.jobs.wait(JOB, ROUTE, undefined, true));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.polls).toEqual([0]);
    // 1,000 forged callbacks, one a millisecond for a second.
    for (let ms = 0; ms < 1_000; ms++) {
      s.jobs.notifyJobDone(JOB);
      await vi.advanceTimersByTimeAsync(1);
    }
    const woken = s.polls.filter((at) => at > 0 && at <= 1_000);
    // The fallback schedule in webhook mode alone polls about 3 times in that second; each
    // callback-driven poll is at least 250 ms after the previous one let through.
    expect(woken.length).toBeLessThanOrEqual(8);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await result).error).toBeDefined();
  });

  it('abort ends the wait with ZStackAbortedError and no poll follows', async () => {
    const s = scripted(() => RUNNING);
    const ac = new AbortController();
    const result = settle(s.jobs.wait(JOB, ROUTE, { signal: ac.signal }, true));
    await vi.advanceTimersByTimeAsync(35);
    expect(s.polls).toEqual([0, 10, 30]);
    ac.abort();
    const { error } = await result;
    expect(error).toBeInstanceOf(ZStackAbortedError);
    expect(error).toMatchObject({ jobUuid: JOB });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.polls).toEqual([0, 10, 30]);
    expect(s.events[0]).toMatchObject({ outcome: 'aborted', polls: 3 });
  });

  it("listens to the caller's signal only from its first sleep on, and stops listening at the end", async () => {
    const ac = new AbortController();
    let listeners = 0;
    let added = 0;
    const signal = {
      get aborted() {
        return ac.signal.aborted;
      },
      addEventListener(type: 'abort', listener: EventListenerObject | (() => void)) {
        listeners++;
        added++;
        ac.signal.addEventListener(type, listener);
      },
      removeEventListener(type: 'abort', listener: EventListenerObject | (() => void)) {
        listeners--;
        ac.signal.removeEventListener(type, listener);
      },
    };
    // Done at the first poll: no sleep, so no listener at all.
    const done = scripted(() => DONE);
    expect(await done.jobs.wait(JOB, ROUTE, { signal }, true)).toEqual({ inventory: { uuid: 't' } });
    expect(added).toBe(0);
    // Running twice: one listener from the first sleep, removed at the end.
    const twice = scripted((n) => (n <= 2 ? RUNNING : DONE));
    const result = settle(twice.jobs.wait(JOB, ROUTE, { signal }, true));
    await vi.advanceTimersByTimeAsync(5);
    expect(listeners).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect((await result).value).toEqual({ inventory: { uuid: 't' } });
    expect(twice.polls).toEqual([0, 10, 30]);
    expect({ added, listeners }).toEqual({ added: 1, listeners: 0 });
    // Aborted while sleeping after the first poll: the listener ends the sleep at once.
    const running = scripted(() => RUNNING);
    const aborted = settle(running.jobs.wait(JOB, ROUTE, { signal }, true));
    await vi.advanceTimersByTimeAsync(5);
    ac.abort();
    expect((await aborted).error).toBeInstanceOf(ZStackAbortedError);
    expect(running.polls).toEqual([0]);
    expect(listeners).toBe(0);
  });

  it('learns job duration per route: ≤ 3 polls on average for 50 ms jobs after the first, each found within a few ms', async () => {
    let started = 0;
    const s = scripted((_n, elapsedMs) => (elapsedMs - started >= 50 ? DONE : RUNNING));
    const run = async () => {
      started = Date.now() - s.start;
      const result = settle(s.jobs.wait(JOB, ROUTE, undefined, true));
      await vi.advanceTimersByTimeAsync(1000);
      expect((await result).error).toBeUndefined();
    };
    await run();
    expect(s.events[0]).toMatchObject({ polls: 4, waitMs: 70 }); // cold: 0, 10, 30, 70
    for (let i = 0; i < 10; i++) await run();
    const warm = s.events.slice(1);
    const average = warm.reduce((sum, e) => sum + e.polls, 0) / warm.length;
    expect(average).toBeLessThanOrEqual(3);
    // A fixed 1 s poll (the SDKs') would find each job ~950 ms late.
    for (const e of warm) expect(e.waitMs).toBeLessThanOrEqual(55);
  });

  it('a replay (learn = false) teaches nothing', async () => {
    let started = 0;
    const s = scripted((_n, elapsedMs) => (elapsedMs - started >= 50 ? DONE : RUNNING));
    for (let i = 0; i < 2; i++) {
      started = Date.now() - s.start;
      const result = settle(s.jobs.wait(JOB, ROUTE, undefined, false));
      await vi.advanceTimersByTimeAsync(1000);
      expect((await result).error).toBeUndefined();
    }
    expect(s.events.map((e) => e.polls)).toEqual([4, 4]);
  });
});
