import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { createZStackClient, type ZStackClient, type ZStackClientConfig } from '../../src/zstack/client.js';

export interface SeenRequest {
  method: string;
  /** Path and query as sent, e.g. /zstack/v1/tickets?q=... */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type FakeHandler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeZStack {
  /** Base URL with the context path, as the client is configured. */
  baseUrl: string;
  port: number;
  requests: SeenRequest[];
  count(method: string, pathPrefix: string): number;
  close(): Promise<void>;
}

/** A tiny ZStack stand-in: every request is recorded, then answered by the test's handler. */
export async function startFake(handler: FakeHandler): Promise<FakeZStack> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      Promise.resolve(handler(seen, res)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/zstack`,
    port,
    requests,
    count: (method, pathPrefix) =>
      requests.filter((r) => r.method === method && r.url.startsWith(pathPrefix)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers like ZStack: no Content-Type, status decides the body kind. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const JOB_PREFIX = '/zstack/v1/api-jobs/';

export function jobIdOf(url: string): string {
  return url.slice(JOB_PREFIX.length);
}

/**
 * Fakes and upstream clients for one test file, each closed after the test that made it (call once,
 * at the file's top level: it registers an afterEach).
 */
export function closedAfterEach(defaults: { timeoutMs: number }) {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });
  return {
    async fake(handler: FakeHandler): Promise<FakeZStack> {
      const f = await startFake(handler);
      cleanups.push(() => f.close());
      return f;
    },
    client(baseUrl: string, extra: Partial<ZStackClientConfig> = {}): ZStackClient {
      const c = createZStackClient({ baseUrl, timeoutMs: defaults.timeoutMs, jobTimeoutMs: 5000, ...extra });
      cleanups.push(() => c.close());
      return c;
    },
  };
}

/** What `p` rejects with; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
