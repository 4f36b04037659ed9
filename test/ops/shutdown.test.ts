import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { logInAt, postGraphQL } from '../helpers/graphql.js';
import { subscribeMultipart } from '../helpers/multipart.js';
import { waitFor } from '../helpers/wait.js';
import { wsClient, wsSubscribe } from '../helpers/ws.js';
import { CHANGE } from './support.js';

const ENTRY = 'dist/src/server.js';

type Changed = { changeTicketStatus: { ticket: { uuid: string } } };

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

/** The real server process (npm start's entry) in front of the simulator, with its output captured. */
async function startServer(env: Record<string, string>) {
  const proc = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      ZSTACK_URL: simulator.url,
      ZSTACK_TIME_ZONE: 'UTC',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
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
  const session = await logInAt(`${base}/graphql`, {
    accountName: admin.accountName,
    password: admin.password,
  });
  return { proc, base, session, exited, output: () => out };
}

/** Log lines of the given message, parsed. */
function linesOf(out: string, msg: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function pendingTicket(): string {
  return simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
}

it('SIGTERM: stops accepting, lets the in-flight mutation finish, exits 0', async () => {
  simulator.controls.setJobLatency(500);
  const { proc, base, session, exited, output } = await startServer({ SHUTDOWN_GRACE_MS: '10000' });
  const pending = pendingTicket();
  simulator.controls.clearRequests();

  let mutationDone = false;
  const mutation = postGraphQL<Changed>(
    `${base}/graphql`,
    CHANGE,
    { input: { uuid: pending, statusEvent: 'APPROVE' } },
    { session },
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
  expect(result.body.data?.changeTicketStatus.ticket.uuid).toBe(pending);
  expect(await exited).toBe(0);
  expect(simulator.controls.count({ method: 'PUT' })).toBe(1);
  expect(simulator.controls.getTicket(pending)?.status).not.toBe('Pending');
  expect(output()).toContain('"msg":"stopped"');
  expect(output()).not.toContain(session);
});

it('SIGTERM: a mutation still waiting for its job at the grace end answers JOB_PENDING with its jobUuid', async () => {
  // The job outlasts the grace period by far; the job timeout (60 s) is not what ends the wait.
  simulator.controls.setJobLatency(60_000);
  const graceMs = 1000;
  const { proc, base, session, exited, output } = await startServer({ SHUTDOWN_GRACE_MS: String(graceMs) });
  const pending = pendingTicket();
  simulator.controls.clearRequests();

  const mutation = postGraphQL(
    `${base}/graphql`,
    CHANGE,
    { input: { uuid: pending, statusEvent: 'APPROVE' } },
    { session },
  );
  await waitFor(() => simulator.controls.count({ method: 'PUT' }) === 1, 'the mutation to reach ZStack');
  const signalled = performance.now();
  proc.kill('SIGTERM');

  const result = await mutation;
  const answeredMs = performance.now() - signalled;
  expect(result.status).toBe(200);
  expect(result.body.data?.changeTicketStatus ?? null).toBeNull();
  const error = result.body.errors?.[0];
  expect(error?.extensions?.code).toBe(ErrorCode.JOB_PENDING);
  const jobUuid = error?.extensions?.jobUuid as string;
  expect(jobUuid).toMatch(/^[0-9a-f]{32}$/);
  // The job the PUT started, still running at ZStack: apiJob will tell its outcome later.
  expect(simulator.controls.jobOf(jobUuid)?.state).toBe('running');
  // It waited for the grace period (the job might have ended in it), not a moment longer than needed.
  expect(answeredMs).toBeGreaterThanOrEqual(graceMs - 50);
  expect(answeredMs).toBeLessThan(graceMs + 5000);

  expect(await exited).toBe(0);
  expect(simulator.controls.count({ method: 'PUT' })).toBe(1);
  // Every request has its log line, written out before the exit.
  const requests = linesOf(output(), 'request');
  expect(requests.map((l) => l.code)).toEqual(['OK', ErrorCode.JOB_PENDING]);
  expect(output()).toContain('"msg":"stopped"');
  expect(output()).not.toContain(session);
});

it('a second signal exits at once, without waiting for the grace period', async () => {
  simulator.controls.setJobLatency(60_000);
  const { proc, base, session, exited, output } = await startServer({ SHUTDOWN_GRACE_MS: '60000' });
  const mutation = postGraphQL(
    `${base}/graphql`,
    CHANGE,
    { input: { uuid: pendingTicket(), statusEvent: 'APPROVE' } },
    { session },
  ).catch(() => undefined);
  const puts = simulator.controls.count({ method: 'PUT' });
  await waitFor(() => simulator.controls.count({ method: 'PUT' }) > puts, 'the mutation to reach ZStack');
  proc.kill('SIGTERM');
  await waitFor(() => linesOf(output(), 'stopping').length === 1, 'the first signal to start the shutdown');
  proc.kill('SIGINT');
  // The grace period (60 s) is far longer than this test may take: only the second signal ends it.
  expect(await exited).toBe(130);
  expect(linesOf(output(), 'second signal; exiting now')).toHaveLength(1);
  await mutation;
});

it('SIGTERM right after a burst: every request has its log line on stdout (asynchronous logs are flushed)', async () => {
  const { proc, base, exited, output } = await startServer({});
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
  const logged = new Set(linesOf(output(), 'request').map((l) => l.reqId));
  expect(ids.filter((id) => !logged.has(id))).toEqual([]);
  expect(output()).toContain('"msg":"stopped"');
});

it('SIGTERM with open WebSockets: each subscription completes, each socket closes with 1001, exit 0 within the grace', async () => {
  const graceMs = 5000;
  const { proc, base, session, exited, output } = await startServer({ SHUTDOWN_GRACE_MS: String(graceMs) });
  simulator.controls.clearRequests();
  const withStream = wsClient(`${base}/graphql`, { session });
  const idle = wsClient(`${base}/graphql`, { session });
  const sub = wsSubscribe(withStream, 'subscription { ticketUpdated(where: {}) { uuid status } }');
  // The stream is open once its operation is logged as started: wait for the session's first poll.
  await waitFor(
    () => simulator.controls.count({ method: 'GET', path: '/v1/tickets' }) > 0,
    'the subscription to poll',
  );
  const signalled = performance.now();
  proc.kill('SIGTERM');
  expect(await sub.done).toBe('complete');
  expect((await withStream.closed).code).toBe(1001);
  expect((await idle.closed).code).toBe(1001);
  expect(await exited).toBe(0);
  expect(performance.now() - signalled).toBeLessThan(graceMs);
  expect(output()).toContain('"msg":"stopped"');
  expect(output()).not.toContain(session);
});

it('SIGTERM with open multipart subscriptions: each ends with the closing boundary, and the process exits 0 well within the grace period', async () => {
  const { proc, base, session, exited, output } = await startServer({ SHUTDOWN_GRACE_MS: '60000' });
  const url = `${base}/graphql`;
  const watch = 'subscription { ticketUpdated(where: { statusIn: [PENDING] }) { uuid status } }';
  const streams = [
    await subscribeMultipart(url, watch, {}, session),
    await subscribeMultipart(url, watch, {}, session),
  ];
  expect(streams.map((s) => s.status)).toEqual([200, 200]);
  // The opening delimiter is written once the feed holds the stream.
  await waitFor(() => streams.every((s) => s.raw.length > 0), 'both streams to open');
  proc.kill('SIGTERM');
  for (const s of streams) expect(await s.ended).toMatch(/\r\n--graphql--\r\n$/);
  // The drained streams finish the shutdown: no wait for the 60 s grace period.
  expect(await exited).toBe(0);
  expect(output()).toContain('"msg":"stopped"');
  expect(output()).not.toContain(session);
});
