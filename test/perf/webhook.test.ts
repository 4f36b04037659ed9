import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import type { Gateway } from '../../src/gateway.js';
import { answerWebhook } from '../../src/http/webhook.js';
import { createLogger } from '../../src/observability/logger.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { logInAt, postGraphQL } from '../helpers/graphql.js';
import { forgeCallbacksWhileRunning, postJobCallback } from '../helpers/job-callback.js';
import { waitFor } from '../helpers/wait.js';

const CHANGE = `mutation Change($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { ticket { uuid status } }
}`;

interface Setup {
  simulator: Simulator;
  gateway: Gateway;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Job uuids the gateway was told about, in order. */
  notified: string[];
  /** The callback URL the gateway uses (ZSTACK_WEBHOOK_URL with its secret segment). */
  hook: string;
  close(): Promise<void>;
}

let open: Setup | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/**
 * A simulator and a gateway on port 0. The gateway's port must be known before it is built (it is
 * in ZSTACK_WEBHOOK_URL), so the server listens first and hands requests over once it exists.
 */
async function setup(options: { jobLatencyMs: number; webhook: 'self' | 'none' | 'lost' }): Promise<Setup> {
  const simulator = await startSimulator({
    port: 0,
    jobLatencyMs: options.jobLatencyMs,
    webhookRetryIntervalMs: 60_000,
  });
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env: Record<string, string> = { LOG_LEVEL: 'silent', ZSTACK_TIME_ZONE: 'UTC' };
  if (options.webhook === 'self') env.ZSTACK_WEBHOOK_URL = `${origin}/zstack-webhook`;
  // Nothing listens on port 9 (discard) of this host: every delivery fails, as a lost callback does.
  if (options.webhook === 'lost') env.ZSTACK_WEBHOOK_URL = 'http://127.0.0.1:9/zstack-webhook';
  const config = { ...loadConfig(env), zstackUrl: simulator.url };
  const notified: string[] = [];
  const app = createApp(config, {
    logger: createLogger('silent'),
    deps: { onJobNotice: (jobUuid) => notified.push(jobUuid) },
  });
  const gateway = app.gateway;
  handler = app.handler;
  return {
    simulator,
    gateway,
    origin,
    notified,
    hook: config.zstackWebhookUrl ?? `${origin}/zstack-webhook`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await simulator.close();
    },
  };
}

function adminSession(s: Setup): Promise<string> {
  const { admin } = s.simulator.controls.demo;
  return logInAt(`${s.origin}/graphql`, { accountName: admin.accountName, password: admin.password });
}

async function gql(s: Setup, query: string, variables: Record<string, unknown>, session?: string) {
  return (await postGraphQL(`${s.origin}/graphql`, query, variables, { session })).body;
}

function pendingTicket(s: Setup): string {
  const uuid = s.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid;
  if (typeof uuid !== 'string') throw new Error('the demo data has no Pending ticket');
  return uuid;
}

async function approve(s: Setup, session: string, uuid: string) {
  const res = await gql(s, CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, session);
  expect(res.errors).toBeUndefined();
  return res;
}

function jobPolls(s: Setup): number {
  return s.simulator.controls.count({ path: '/v1/api-jobs/' });
}

/**
 * One approval with 400 ms jobs: the job uuid the gateway polled and the ones it was notified of.
 * How much sooner a callback ends the wait is timing: test/zstack/jobs.test.ts checks in fake time
 * that notifyJobDone wakes the wait at once; here the wiring is checked, which timing cannot change.
 */
async function approvalNotifications(
  webhook: 'self' | 'none',
): Promise<{ jobUuid: string | undefined; notified: string[] }> {
  const s = await setup({ jobLatencyMs: 400, webhook });
  open = s;
  const session = await adminSession(s);
  s.simulator.controls.clearRequests();
  await approve(s, session, pendingTicket(s));
  // The poll that finds the job done may come just before the callback does.
  if (webhook === 'self') await waitFor(() => s.notified.length > 0, "ZStack's callback");
  const poll = s.simulator.controls.requests.find((r) => r.path.includes('/v1/api-jobs/'));
  const result = { jobUuid: poll?.path.split('/').pop(), notified: [...s.notified] };
  await s.close();
  open = undefined;
  return result;
}

/** A gateway whose approval of a pending ticket is waiting for its job: the call and the job uuid. */
async function approvalInFlight(options: { jobLatencyMs: number; webhook: 'self' | 'lost' }) {
  const s = await setup(options);
  open = s;
  const session = await adminSession(s);
  const uuid = pendingTicket(s);
  s.simulator.controls.clearRequests();
  const call = gql(s, CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, session);
  await waitFor(() => jobPolls(s) >= 1, 'the first poll');
  const jobUuid = s.simulator.controls.requests
    .find((r) => r.path.includes('/api-jobs/'))
    ?.path.split('/')
    .pop() as string;
  return { s, uuid, call, jobUuid };
}

describe('webhook mode (ZSTACK_WEBHOOK_URL)', () => {
  it("every async write carries X-Web-Hook; ZStack's callback for the job reaches the waiting client", async () => {
    const withHook = await approvalNotifications('self');
    const without = await approvalNotifications('none');
    expect(withHook.jobUuid).toMatch(/^[0-9a-f]{32}$/);
    expect(withHook.notified).toEqual([withHook.jobUuid]);
    expect(without.notified).toHaveLength(0);

    const s = await setup({ jobLatencyMs: 0, webhook: 'self' });
    open = s;
    const session = await adminSession(s);
    s.simulator.controls.clearRequests();
    await approve(s, session, pendingTicket(s));
    const put = s.simulator.controls.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['x-web-hook']).toBe(s.hook);
    expect(s.hook).toMatch(new RegExp(`^${s.origin}/zstack-webhook/[A-Za-z0-9_-]{24}$`));
    const logins = s.simulator.controls.requests.filter((r) => r.method !== 'PUT' && r.method !== 'GET');
    for (const r of logins) expect(r.headers['x-web-hook']).toBeUndefined();
  });

  it('without ZSTACK_WEBHOOK_URL no write carries X-Web-Hook and the path is not served', async () => {
    const s = await setup({ jobLatencyMs: 0, webhook: 'none' });
    open = s;
    const session = await adminSession(s);
    await approve(s, session, pendingTicket(s));
    expect(s.simulator.controls.requests.some((r) => r.headers['x-web-hook'] !== undefined)).toBe(false);
    expect(await postJobCallback(`${s.origin}/zstack-webhook`, 'a'.repeat(32))).toBe(404);
    expect(s.notified).toHaveLength(0);
  });

  it('a forged callback for an unknown job changes nothing and costs no upstream call', async () => {
    const s = await setup({ jobLatencyMs: 0, webhook: 'self' });
    open = s;
    s.simulator.controls.clearRequests();
    const status = await postJobCallback(s.hook, 'f'.repeat(32), {
      contentType: 'application/json',
      body: '{"inventory":{"status":"FinalApproved"}}',
    });
    expect(status).toBe(200);
    expect(s.notified).toEqual(['f'.repeat(32)]);
    expect(s.simulator.controls.requests).toHaveLength(0);
  });

  it('a forged callback for a running job only wakes its polling: the real result still comes from ZStack', async () => {
    const { s, uuid, call, jobUuid } = await approvalInFlight({ jobLatencyMs: 400, webhook: 'self' });
    const forged = await postJobCallback(s.hook, jobUuid, {
      success: 'false',
      body: '{"error":{"code":"SYS.1000"}}',
    });
    expect(forged).toBe(200);
    const res = await call;
    expect(res.errors).toBeUndefined();
    // biome-ignore lint/suspicious/noExplicitAny: test data
    expect((res.data as any).changeTicketStatus.ticket).toMatchObject({ uuid });
    expect(s.simulator.controls.jobOf(jobUuid)?.state).toBe('succeeded');
    expect(s.notified.filter((j) => j === jobUuid).length).toBeGreaterThanOrEqual(2); // forged + real
  });

  it('a lost callback still completes by polling', async () => {
    // The job outlives the first poll (at once), so only later polls can find it done: a client
    // that waited for the callback alone would end in JOB_PENDING, which approve() rejects.
    const s = await setup({ jobLatencyMs: 400, webhook: 'lost' });
    open = s;
    const session = await adminSession(s);
    s.simulator.controls.clearRequests();
    const res = await approve(s, session, pendingTicket(s));
    expect(res.data).toBeTruthy();
    expect(jobPolls(s)).toBeGreaterThanOrEqual(1);
    expect(s.notified).toHaveLength(0);
    const put = s.simulator.controls.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['x-web-hook']).toBe(s.hook);
    expect(s.hook).toMatch(/^http:\/\/127\.0\.0\.1:9\/zstack-webhook\/[A-Za-z0-9_-]{24}$/);
  });

  it.each([
    ['GET', { 'x-job-uuid': 'a'.repeat(32), 'x-job-success': 'true' }, 405],
    ['POST', { 'x-job-success': 'true' }, 400],
    ['POST', { 'x-job-uuid': 'a'.repeat(32) }, 400],
    ['POST', { 'x-job-uuid': '../../etc', 'x-job-success': 'true' }, 400],
    ['POST', { 'x-job-uuid': 'a'.repeat(32), 'x-job-success': 'true' }, 200],
  ] as const)('%s with %o answers %i, over HTTP', async (method, headers, status) => {
    const s = await setup({ jobLatencyMs: 0, webhook: 'self' });
    open = s;
    const res = await request(s.hook, {
      method,
      headers,
      body: method === 'POST' ? '{}' : undefined,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(status);
    expect(res.headers.allow).toBe(status === 405 ? 'POST' : undefined);
    expect(s.notified).toEqual(status === 200 ? ['a'.repeat(32)] : []);
  });

  it('only the secret path is the callback: the path without its secret segment is not', async () => {
    const s = await setup({ jobLatencyMs: 0, webhook: 'self' });
    open = s;
    for (const path of ['/zstack-webhook', '/zstack-webhook/', `/zstack-webhook/${'a'.repeat(24)}`]) {
      expect(await postJobCallback(`${s.origin}${path}`, 'a'.repeat(32))).toBe(404);
    }
    expect(s.notified).toHaveLength(0);
    expect(await postJobCallback(s.hook, 'a'.repeat(32))).toBe(200);
    expect(s.notified).toEqual(['a'.repeat(32)]);
  });

  it('a callback body over ZSTACK_WEBHOOK_MAX_BODY_BYTES: 413, connection closed, nothing notified', async () => {
    const s = await setup({ jobLatencyMs: 0, webhook: 'self' });
    open = s;
    const headers = { 'x-job-uuid': 'a'.repeat(32), 'x-job-success': 'true' };
    // Declared too large.
    const declared = await request(s.hook, { method: 'POST', headers, body: 'x'.repeat(64 * 1024 + 1) });
    await declared.body.dump();
    expect(declared.statusCode).toBe(413);
    expect(declared.headers.connection).toBe('close');
    // Streamed without a length: cut off once past the limit, not read to its end (16 MiB here).
    const chunk = Buffer.alloc(64 * 1024, 120);
    let sent = 0;
    async function* endless() {
      for (let i = 0; i < 256; i++) {
        sent++;
        yield chunk;
      }
    }
    const streamed = await request(s.hook, { method: 'POST', headers, body: Readable.from(endless()) }).catch(
      (e: Error) => e,
    );
    if (!(streamed instanceof Error)) {
      await streamed.body.dump();
      expect(streamed.statusCode).toBe(413);
    }
    expect(sent).toBeLessThan(256);
    expect(s.notified).toHaveLength(0);
  });

  it('a flood of forged callbacks for a running job costs at most one extra poll per ZSTACK_WEBHOOK_WAKE_INTERVAL_MS', async () => {
    const { s, call, jobUuid } = await approvalInFlight({ jobLatencyMs: 1500, webhook: 'lost' });
    // 'lost' sends ZStack's callbacks nowhere: every callback here is forged, over HTTP to the
    // gateway's (known, for this test) callback path, from 20 senders until the job ends.
    const hookUrl = `${s.origin}${new URL(s.hook).pathname}`;
    let forged = 0;
    const running = () => s.simulator.controls.jobOf(jobUuid)?.state === 'running';
    const sender = async () => {
      // Not `forged += await …`: that reads `forged` before the await and would drop what the
      // other senders added meanwhile.
      const sent = await forgeCallbacksWhileRunning(hookUrl, jobUuid, running);
      forged += sent;
    };
    // HTTP alone is too slow here to outpace polling; the same callbacks straight to the client are not.
    const direct = async () => {
      while (s.simulator.controls.jobOf(jobUuid)?.state === 'running') {
        for (let i = 0; i < 20; i++) s.gateway.client.notifyJobDone(jobUuid);
        forged += 20;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all([...Array.from({ length: 20 }, sender), direct(), call]);
    expect(forged).toBeGreaterThan(100);
    console.info(`webhook flood: ${forged} forged callbacks, ${jobPolls(s)} job polls`);
    // 1.5 s of job: the fallback schedule's few polls plus at most one per 250 ms wake interval.
    expect(jobPolls(s)).toBeLessThanOrEqual(20);
  });

  it('answerWebhook notifies only for a complete POST', () => {
    const seen: string[] = [];
    const client = { notifyJobDone: (j: string) => seen.push(j) };
    const h = (m: Record<string, string>) => (name: string) => m[name];
    expect(answerWebhook('POST', h({ 'x-job-uuid': 'j1', 'x-job-success': 'false' }), client)).toBe(200);
    expect(answerWebhook('POST', h({ 'x-job-uuid': '', 'x-job-success': 'true' }), client)).toBe(400);
    expect(answerWebhook('PUT', h({ 'x-job-uuid': 'j2', 'x-job-success': 'true' }), client)).toBe(405);
    expect(seen).toEqual(['j1']);
  });
});
