/** Waiting inside src/zstack: a sleep the caller's abort ends, and the GET retry backoff. */
import type { CallerSignal } from './call-types.js';

/**
 * A sleep that ends early when the caller's signal fires, or when `wake()` is called. It listens to
 * the signal from its first sleep on (an abort before that finds `aborted` set when sleep() starts):
 * a job wait whose first poll finds the job done never adds nor removes a listener.
 */
export class Sleeper {
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private listening = false;
  constructor(private readonly signal: CallerSignal | undefined) {}
  handleEvent(): void {
    this.wake();
  }
  /** Ends the current sleep now, if there is one. */
  wake(): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    clearTimeout(this.timer);
    resolve();
  }
  sleep(ms: number): Promise<void> {
    const signal = this.signal;
    if (signal !== undefined) {
      if (signal.aborted) return Promise.resolve();
      if (!this.listening) {
        this.listening = true;
        signal.addEventListener('abort', this);
      }
    }
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(wakeSleeper, ms, this);
    });
  }
  dispose(): void {
    clearTimeout(this.timer);
    if (this.listening) {
      this.listening = false;
      this.signal?.removeEventListener('abort', this);
    }
  }
}

function wakeSleeper(s: Sleeper): void {
  s.wake();
}

const BACKOFF_BASE_MS = 50;
const MAX_BACKOFF_MS = 1000;

/** Wait before retry number `attempt + 1` of a GET: 50, 150, 450 ms... up to 1 s. */
export function getRetryBackoffMs(attempt: number): number {
  return Math.min(BACKOFF_BASE_MS * 3 ** attempt, MAX_BACKOFF_MS);
}
