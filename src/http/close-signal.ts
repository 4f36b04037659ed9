import type { ServerResponse } from 'node:http';
import type { CallerSignal } from '../zstack/call-types.js';

type Listener = EventListenerObject | (() => void);

/**
 * The abort signal of one JSON POST: it fires when the connection closes before the answer was
 * written. Cheaper than an AbortController per request (an EventTarget, and a DOMException on
 * abort): a flag and a short list, and one listener on the response that is the same function for
 * every request.
 */
export class CloseSignal implements CallerSignal {
  aborted = false;
  private listeners: Listener[] | undefined;
  /** `{ once }` is honoured by construction: a signal fires at most once. */
  addEventListener(_type: 'abort', listener: Listener): void {
    if (this.aborted) return;
    this.listeners ??= [];
    this.listeners.push(listener);
  }
  removeEventListener(_type: 'abort', listener: Listener): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners?.splice(at, 1);
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      if (typeof listener === 'function') listener();
      else listener.handleEvent(ABORT_EVENT);
    }
  }
}

const ABORT_EVENT = { type: 'abort' } as unknown as Event;
const SIGNAL: unique symbol = Symbol('closeSignal');

function abortIfUnfinished(this: ServerResponse & { [SIGNAL]?: CloseSignal }): void {
  if (!this.writableFinished) this[SIGNAL]?.abort();
}

/** A signal that aborts when `res` closes before it finished. */
export function closeSignal(res: ServerResponse): CloseSignal {
  const signal = new CloseSignal();
  (res as ServerResponse & { [SIGNAL]?: CloseSignal })[SIGNAL] = signal;
  res.on('close', abortIfUnfinished);
  return signal;
}

/**
 * The same signal from an AbortController (ABORT_SIGNALS=abort-controller, the bench's side-by-side
 * row for CloseSignal and the transport's Attempt; bench/README.md): what the library gives.
 */
export function abortControllerSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** For a context that has no caller who could go away: listeners are never called, so never kept. */
export const NEVER_ABORTED: CallerSignal = Object.freeze({
  aborted: false,
  addEventListener() {},
  removeEventListener() {},
});
