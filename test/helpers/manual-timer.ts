import type { FeedTimer } from '../../src/live/feed-schedule.js';

/** A clock that moves only when told: timers fire in `advance`, in due order. */
export interface ManualTimer {
  timer: FeedTimer;
  /** Moves the clock by `ms` and runs every timer due by then. */
  advance(ms: number): void;
  /** Timers set and not yet run or cleared. */
  readonly pending: number;
}

export function createManualTimer(start = 1_000_000): ManualTimer {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    timer: {
      now: () => now,
      setTimeout(fn, ms) {
        const id = ++nextId;
        timers.set(id, { at: now + ms, fn });
        return id;
      },
      clearTimeout(handle) {
        timers.delete(handle as number);
      },
    },
    advance(ms) {
      now += ms;
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) return;
        timers.delete(due[0]);
        due[1].fn();
      }
    },
    get pending() {
      return timers.size;
    },
  };
}
