import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { CHANGE } from './support.js';

const ENTRY = 'dist/src/server.js';

let simulator: Simulator;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (npm test does)`);
  simulator = await startSimulator({ port: 0, jobLatencyMs: 500 });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await simulator.close();
});

async function post(base: string, body: unknown, session?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (session) headers.authorization = `OAuth ${session}`;
  const res = await request(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
}

it('SIGTERM: stops accepting, lets the in-flight mutation finish, exits 0', async () => {
  const proc = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      ZSTACK_URL: simulator.url,
      ZSTACK_TIME_ZONE: 'UTC',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await waitFor(() => /listening: http:\/\/[^:]+:\d+\/graphql/.test(out), 'the server to listen', 15_000);
  const port = /listening: http:\/\/[^:]+:(\d+)\/graphql/.exec(out)?.[1];
  const base = `http://127.0.0.1:${port}`;

  const { admin } = simulator.controls.demo;
  const login = await post(base, {
    query: 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }',
    variables: { i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password } },
  });
  if (!login.body.data) throw new Error(`logIn failed: ${JSON.stringify(login.body)}`);
  const session = login.body.data.logIn.session.uuid as string;
  const pending = simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
  simulator.controls.clearRequests();

  let mutationDone = false;
  const mutation = post(
    base,
    { query: CHANGE, variables: { input: { uuid: pending, statusEvent: 'APPROVE' } } },
    session,
  ).finally(() => {
    mutationDone = true;
  });
  await waitFor(() => simulator.controls.count({ method: 'PUT' }) === 1, 'the mutation to reach ZStack');
  proc.kill('SIGTERM');

  // New connections are refused while the mutation is still running.
  let refused = false;
  for (let i = 0; i < 400 && !refused; i++) {
    try {
      const res = await request(`${base}/health`, { reset: true });
      await res.body.text();
      await new Promise((r) => setTimeout(r, 5));
    } catch (err) {
      refused = (err as { code?: string }).code === 'ECONNREFUSED';
    }
  }
  expect(refused).toBe(true);
  expect(mutationDone).toBe(false);

  const result = await mutation;
  expect(result.body.errors).toBeUndefined();
  expect(result.body.data.changeTicketStatus.ticket.uuid).toBe(pending);
  expect(await exited).toBe(0);
  expect(simulator.controls.count({ method: 'PUT' })).toBe(1);
  expect(simulator.controls.getTicket(pending)?.status).not.toBe('Pending');
  expect(out).toContain('"msg":"stopped"');
  expect(out).not.toContain(session);
});

it('SIGTERM right after a burst: every request has its log line on stdout (asynchronous logs are flushed)', async () => {
  const proc = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      ZSTACK_URL: simulator.url,
      ZSTACK_TIME_ZONE: 'UTC',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await waitFor(() => /listening: http:\/\/[^:]+:\d+\/graphql/.test(out), 'the server to listen', 15_000);
  const port = /listening: http:\/\/[^:]+:(\d+)\/graphql/.exec(out)?.[1];
  const base = `http://127.0.0.1:${port}`;

  const ids = Array.from({ length: 400 }, (_, i) => `burst-${i}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map(async (id) => {
        const res = await request(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        await res.body.text();
      }),
    );
  }
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);
  const logged = new Set(
    out
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => (JSON.parse(l) as { reqId: string }).reqId),
  );
  expect(ids.filter((id) => !logged.has(id))).toEqual([]);
  expect(out).toContain('"msg":"stopped"');
});
