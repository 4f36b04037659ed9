/**
 * When a session polls and what it asks for: the clock as an input, the poll delay, the one query of
 * a poll and its page size. Pure, except realTimer.
 */
import type { QueryParams } from '../zstack/query.js';

/** Time as an input: the real clock and timers by default, a manual one in tests. */
export interface FeedTimer {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimer: FeedTimer = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Most changed tickets one poll fetches; more are picked up by the next polls (oldest first). */
export const MAX_CHANGES_PER_POLL = 500;
/** The first poll of a session only learns where "now" is: the newest few tickets. */
const BASELINE_ROWS = 50;
/** An early refresh (another session's mutation) comes at most this often per session. */
export const WAKE_MIN_GAP_MS = 1000;
/**
 * How long a session's poll lease lasts without renewal: its holder renews it at every poll (once an
 * interval), and an instance waiting for it tries again when it runs out, so a holder that died is
 * replaced within one interval and a second of its last poll.
 */
export function pollLeaseMs(intervalMs: number): number {
  return intervalMs + 1000;
}
/** Before anything was seen: every ticket that appears later is a change. */
export const EPOCH = '1970-01-01 00:00:00';

/** Where a session's poll loop stands: all the next poll's delay depends on. */
export interface FeedPollState {
  nowMs: number;
  /** When the last poll started; undefined before the first. */
  lastPollAtMs: number | undefined;
  intervalMs: number;
  /** Another session's mutation changed a ticket one of this session's streams matches. */
  woken: boolean;
  /** Shared: another instance's lease on the session runs out in this many ms. */
  leaseFreeInMs?: number | undefined;
  /** Redis answers again after a fault: poll at once. */
  catchUp?: boolean;
}

/**
 * The delay before a session's next poll: at once for the first and for a catch-up; then one interval
 * after the last poll started; woken by another session's mutation, after min(interval,
 * WAKE_MIN_GAP_MS); waiting for another instance's lease, no later than just after it runs out. So a
 * session polls at most once per interval plus once per WAKE_MIN_GAP_MS when woken. Pure.
 */
export function nextFeedPollDelayMs(s: FeedPollState): number {
  if (s.lastPollAtMs === undefined || s.catchUp) return 0;
  const gap = s.woken ? Math.min(s.intervalMs, WAKE_MIN_GAP_MS) : s.intervalMs;
  const due = Math.max(0, s.lastPollAtMs + gap - s.nowMs);
  if (s.leaseFreeInMs === undefined) return due;
  // The lease was read at the last poll's start: it runs out that much later (plus a few ms).
  return Math.min(due, Math.max(0, s.lastPollAtMs + s.leaseFreeInMs + LEASE_SLACK_MS - s.nowMs));
}

/** A waiting instance claims this long after the holder's lease should have run out. */
const LEASE_SLACK_MS = 5;

/**
 * The one query of a session's poll: the newest tickets first time, then those changed since `since`,
 * at most `limit` (fewer while answers come back over ZSTACK_MAX_RESPONSE_BYTES).
 */
export function feedQuery(since: string | undefined, limit = MAX_CHANGES_PER_POLL): QueryParams {
  if (since === undefined)
    return { sort: { field: 'lastOpDate', direction: 'desc' }, limit: Math.min(BASELINE_ROWS, limit) };
  return {
    conditions: [{ field: 'lastOpDate', op: '>=', value: since }],
    sort: { field: 'lastOpDate', direction: 'asc' },
    limit,
  };
}

/**
 * The next poll's page size after one poll: halved after an answer over ZSTACK_MAX_RESPONSE_BYTES
 * (big tickets: fewer a poll, the rest at the next ones), doubled back after a good one. Pure.
 */
export function nextPollLimit(limit: number, tooLarge: boolean): number {
  return tooLarge ? Math.max(1, Math.floor(limit / 2)) : Math.min(MAX_CHANGES_PER_POLL, limit * 2);
}

/**
 * Most tickets read in one call after the shared log named them (big tickets: fewer, see reread).
 * Changes named together are read together: one upstream read per session per burst.
 */
export const REREAD_BATCH = 50;
/**
 * Reads of named tickets start at most this often per session (on each instance): a burst of
 * changes costs one read, and a storm of them at most 20 reads a second, never one read per change.
 */
export const READ_MIN_GAP_MS = 50;
