import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A payload of a `next` message, or the errors of an `error` message. */
export interface WsResult {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** The graphql-ws client as apps use it, over `ws`; `session` goes in connection_init's payload. */
export function wsClient(
  httpUrl: string,
  options: { session?: string; authorizationHeader?: string } = {},
): Client & { closed: Promise<{ code: number; reason: string }> } {
  let closedWith: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    closedWith = resolve;
  });
  const headers = options.authorizationHeader ? { authorization: options.authorizationHeader } : undefined;
  class Socket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, headers ? { headers } : {});
    }
  }
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: Socket,
    lazy: false,
    retryAttempts: 0,
    // The tests assert on how sockets close; graphql-ws would print each close on stderr.
    onNonLazyError: () => {},
    connectionParams: options.session ? { authorization: `OAuth ${options.session}` } : undefined,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: unknown };
        closedWith({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  return Object.assign(client, { closed });
}

/** A subscription's results as they arrive, over a client's socket. */
export interface WsSubscription {
  next(timeoutMs?: number): Promise<WsResult>;
  readonly pending: number;
  /** Resolves when the server completed the operation (or it failed). */
  readonly done: Promise<'complete' | 'error'>;
  close(): void;
}

export function wsSubscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: WsResult[] = [];
  const waiters: (() => void)[] = [];
  let finish: (how: 'complete' | 'error') => void = () => {};
  const done = new Promise<'complete' | 'error'>((resolve) => {
    finish = resolve;
  });
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (value) => {
        results.push(value as WsResult);
        for (const w of waiters.splice(0)) w();
      },
      error: (error) => {
        // An `error` message: its errors, as one result.
        const errors = Array.isArray(error) ? error : [error];
        results.push({ errors: errors as WsResult['errors'] });
        for (const w of waiters.splice(0)) w();
        finish('error');
      },
      complete: () => finish('complete'),
    },
  );
  const sub: WsSubscription = {
    async next(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (results.length === 0) {
        const left = until - Date.now();
        if (left <= 0) throw new Error('timed out waiting for a WebSocket result');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return results.shift() as WsResult;
    },
    get pending() {
      return results.length;
    },
    done,
    close: unsubscribe,
  };
  return sub;
}

/** Runs a query or mutation over the socket: its one result. */
export async function wsRequest(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const sub = wsSubscribe(client, query, variables);
  const result = await sub.next();
  await sub.done;
  return result;
}
