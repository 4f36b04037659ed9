import { Agent, request } from 'undici';

/** The Accept header Apollo Client 4's HttpLink sends for a subscription. */
export const APOLLO_SUBSCRIPTION_ACCEPT =
  'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json';

/** One part's JSON: `{}` (a heartbeat), `{ payload }` (an event) or `{ payload: null, errors }`. */
// biome-ignore lint/suspicious/noExplicitAny: parts are checked by the tests
export type Part = Record<string, any>;

export interface MultipartStream {
  status: number;
  contentType: string | undefined;
  /** The whole body when the answer was not multipart (a JSON refusal). */
  json: Part | undefined;
  /** The next part (heartbeats included), waiting at most `timeoutMs`. */
  next(timeoutMs?: number): Promise<Part>;
  /** The next part that is not a heartbeat. */
  nextEvent(timeoutMs?: number): Promise<Part>;
  /** Parts received and not yet taken. */
  readonly pending: number;
  /** Every byte received so far, as text. */
  readonly raw: string;
  /** Resolves with the raw text once the server ended the response. */
  ended: Promise<string>;
  close(): void;
}

/**
 * Opens a subscription with Apollo's multipart protocol (as Apollo Client's HttpLink does) and
 * splits its body into parts, checking the framing: nothing before the first delimiter, each part
 * `content-type: application/json` then a blank line then JSON.
 */
export async function subscribeMultipart(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  session?: string,
  options: { accept?: string; from?: string; operationName?: string } = {},
): Promise<MultipartStream> {
  const controller = new AbortController();
  const dispatcher = options.from === undefined ? undefined : new Agent({ localAddress: options.from });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: options.accept ?? APOLLO_SUBSCRIPTION_ACCEPT,
  };
  if (session) headers.authorization = `OAuth ${session}`;
  const res = await request(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables, operationName: options.operationName }),
    signal: controller.signal,
    ...(dispatcher ? { dispatcher } : {}),
  });
  const contentType = res.headers['content-type'] as string | undefined;
  // The boundary is the server's pick (ours is graphql; yoga's @defer answers use -).
  const DELIMITER = `\r\n--${/boundary="?([^";]+)"?/.exec(contentType ?? '')?.[1] ?? 'graphql'}`;
  /** Our parts carry exactly this header; yoga's (@defer) a charset and a length too. */
  const strict = DELIMITER === '\r\n--graphql';
  const parts: Part[] = [];
  const waiters: (() => void)[] = [];
  let raw = '';
  let buffer = '';
  let opened = false;
  let json: Part | undefined;
  /** A framing fault, reported by the next `next` (a throw in a stream listener would be uncaught). */
  let fault: Error | undefined;
  let endedText: (text: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    endedText = resolve;
  });
  if (!contentType?.startsWith('multipart/mixed')) {
    const text = await res.body.text();
    json = JSON.parse(text) as Part;
    endedText(text);
  } else {
    res.body.setEncoding('utf8');
    res.body.on('data', (chunk: string) => {
      try {
        take(chunk);
      } catch (err) {
        fault ??= err as Error;
      }
      for (const wake of waiters.splice(0)) wake();
    });
    const take = (chunk: string) => {
      raw += chunk;
      buffer += chunk;
      if (!opened) {
        if (buffer.length < DELIMITER.length) return;
        if (!buffer.startsWith(DELIMITER)) throw new Error(`no opening delimiter: ${JSON.stringify(buffer)}`);
        buffer = buffer.slice(DELIMITER.length);
        opened = true;
      }
      let end = buffer.indexOf(DELIMITER);
      while (end !== -1) {
        const part = buffer.slice(0, end);
        buffer = buffer.slice(end + DELIMITER.length);
        const blank = part.indexOf('\r\n\r\n');
        const head = part.slice(0, blank).trim().toLowerCase();
        if (
          strict
            ? head !== 'content-type: application/json'
            : !head.startsWith('content-type: application/json')
        )
          throw new Error(`part headers: ${JSON.stringify(head)}`);
        parts.push(JSON.parse(part.slice(blank + 4)) as Part);
        end = buffer.indexOf(DELIMITER);
      }
    };
    res.body.on('end', () => {
      endedText(raw);
      for (const wake of waiters.splice(0)) wake();
    });
    res.body.on('error', () => endedText(raw));
  }

  async function next(timeoutMs = 5000): Promise<Part> {
    const deadline = Date.now() + timeoutMs;
    while (parts.length === 0) {
      if (fault !== undefined) throw fault;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no part within ${timeoutMs} ms; received ${JSON.stringify(raw)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return parts.shift() as Part;
  }

  return {
    status: res.statusCode,
    contentType,
    json,
    next,
    async nextEvent(timeoutMs = 5000) {
      for (;;) {
        const part = await next(timeoutMs);
        if (Object.keys(part).length > 0) return part;
      }
    },
    get pending() {
      return parts.length;
    },
    get raw() {
      return raw;
    },
    ended,
    close() {
      controller.abort();
      void dispatcher?.destroy();
    },
  };
}
