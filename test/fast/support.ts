import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import type { App } from '../../src/http.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import type { ZStackClient } from '../../src/zstack/client.js';

/** One app listening on port 0 on loopback, with its captured log lines. */
export interface Side {
  app: App;
  server: Server;
  url: string;
  logs: string[];
}

export async function listen(app: App, logs: string[]): Promise<Side> {
  const server = createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return { app, server, url, logs };
}

export async function stopSide(side: Side): Promise<void> {
  side.server.closeAllConnections();
  await new Promise<void>((resolve) => side.server.close(() => resolve()));
  await side.app.close();
}

/** What a comparison looks at: status, content type and the body's exact text. */
export interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

export async function send(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  method: 'POST' | 'GET' = 'POST',
): Promise<Answer> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? body : undefined,
  });
  return {
    status: res.statusCode,
    contentType: res.headers['content-type'] as string | undefined,
    body: await res.body.text(),
  };
}

export const json = (query: unknown, variables?: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ query, variables, ...extra });

/** A session straight from the simulator, so no gateway under test is involved in getting it. */
export async function directSession(sim: Simulator): Promise<string> {
  const { accountName, password } = sim.controls.demo.admin;
  const res = await request(`${sim.url}/v1/accounts/login`, {
    method: 'PUT',
    // ZStack takes the password's SHA-512 hex.
    body: JSON.stringify({
      logInByAccount: { accountName, password: createHash('sha512').update(password).digest('hex') },
    }),
  });
  return ((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid;
}

/**
 * One simulator for the file, and an admin session got from it directly; both are set once the
 * file's beforeAll has run.
 */
export function useSimulator(): { sim: Simulator; session: string } {
  const shared = {} as { sim: Simulator; session: string };
  beforeAll(async () => {
    shared.sim = await startSimulator({ port: 0 });
    shared.session = await directSession(shared.sim);
  });
  afterAll(() => shared.sim.close());
  return shared;
}

/** Each url's answer to `body` while ZStack fails the tickets query with SYS.1001 (a timeout). */
export async function answersUnderTicketsTimeout(
  sim: Simulator,
  urls: string[],
  body: string,
  headers: Record<string, string>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const url of urls) {
    sim.controls.injectFault({ fault: { kind: 'errorCode', code: 'SYS.1001' }, path: '/v1/tickets' });
    answers.push(await send(url, body, headers));
  }
  return answers;
}

/** An upstream client whose every call throws a plain Error (a bug, as far as the gateway knows). */
export function throwingClient(): ZStackClient {
  const boom = async () => {
    throw new Error(`boom at http://zstack.internal with OAuth ${'c'.repeat(32)}`);
  };
  return {
    get: boom,
    callSync: boom,
    callAsync: boom,
    getJobState: boom,
    notifyJobDone: () => {},
    close: async () => {},
  } as unknown as ZStackClient;
}
