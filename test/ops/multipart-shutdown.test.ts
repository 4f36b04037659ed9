import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { subscribeMultipart } from '../helpers/multipart.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = 'dist/src/server.js';

let simulator: Simulator;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (npm test does)`);
  simulator = await startSimulator({ port: 0 });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await simulator.close();
});

it('SIGTERM with open multipart subscriptions: each ends with the closing boundary, and the process exits 0 well within the grace period', async () => {
  const proc = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      ZSTACK_URL: simulator.url,
      ZSTACK_TIME_ZONE: 'UTC',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '60000',
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
  const url = `http://127.0.0.1:${/listening: http:\/\/[^:]+:(\d+)\/graphql/.exec(out)?.[1]}/graphql`;
  const { admin } = simulator.controls.demo;
  const login = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }',
      variables: { i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password } },
    }),
  });
  const session = ((await login.body.json()) as { data: { logIn: { session: { uuid: string } } } }).data.logIn
    .session.uuid;
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
  expect(out).toContain('"msg":"stopped"');
  expect(out).not.toContain(session);
});
