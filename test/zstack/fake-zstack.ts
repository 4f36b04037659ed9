import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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
