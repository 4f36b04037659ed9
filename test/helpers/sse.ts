import { Agent, request } from 'undici';

export interface SseSubscription {
  /** The next `next` event's payload ({ data, errors }), waiting at most `timeoutMs`. */
  next(timeoutMs?: number): Promise<{
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  }>;
  /** Payloads received so far and not yet taken. */
  readonly pending: number;
  close(): void;
}

/** Opens a GraphQL subscription over SSE (yoga's transport) and parses its events. */
export async function subscribe(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  session?: string,
  /** The client address to connect from (any of 127/8 on Linux); the default dispatcher's when unset. */
  from?: string,
): Promise<SseSubscription> {
  const controller = new AbortController();
  const dispatcher = from === undefined ? undefined : new Agent({ localAddress: from });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (session) headers.authorization = `OAuth ${session}`;
  const res = await request(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
    ...(dispatcher ? { dispatcher } : {}),
  });
  if (res.statusCode !== 200)
    throw new Error(`subscription answered ${res.statusCode}: ${await res.body.text()}`);
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are checked by the tests
  const events: any[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  res.body.setEncoding('utf8');
  res.body.on('data', (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      if (event === 'next' && data) events.push(JSON.parse(data));
      end = buffer.indexOf('\n\n');
    }
    for (const wake of waiters.splice(0)) wake();
  });
  res.body.on('error', () => {});
  return {
    get pending() {
      return events.length;
    },
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no subscription event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return events.shift();
    },
    close() {
      controller.abort();
      void dispatcher?.destroy();
    },
  };
}
