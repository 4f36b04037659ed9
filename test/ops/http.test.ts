import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { CHANGE, type OpsHarness, startOps } from './support.js';

let h: OpsHarness;

beforeAll(async () => {
  h = await startOps({ env: { READY_CACHE_MS: '0', READY_TIMEOUT_MS: '300', MAX_BODY_BYTES: '4096' } });
});
afterAll(() => h.close());
beforeEach(() => {
  h.simulator.controls.reset();
  h.logs.length = 0;
});

async function get(path: string) {
  const res = await request(`${h.base}${path}`);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function parsedLogs(): Record<string, unknown>[] {
  return h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('/health and /ready', () => {
  it('/health answers 200 while the process serves', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
  });

  it('/ready answers 200 when ZStack answers, with one unauthenticated GET', async () => {
    const res = await get('/ready');
    expect(res.status).toBe(200);
    const probes = h.simulator.controls.requests.filter((r) => r.path.endsWith('/valid'));
    expect(probes).toHaveLength(1);
    expect(probes[0]?.path).toBe(`/zstack/v1/accounts/sessions/${'0'.repeat(32)}/valid`);
    expect(probes[0]?.headers.authorization).toBeUndefined();
  });

  it('/ready answers 503 when ZStack does not answer in time', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'latency', ms: 1500 }, path: '/valid' });
    const res = await get('/ready');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({ status: 'unavailable' });
  });

  it('/ready answers 503 when ZStack answers an error', async () => {
    h.simulator.controls.injectFault({ fault: { kind: 'http500' }, path: '/valid' });
    expect((await get('/ready')).status).toBe(503);
  });

  it('/ready answers 503 when ZStack refuses connections, and caches its verdict', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const config = loadConfig({ LOG_LEVEL: 'silent', READY_CACHE_MS: '60000' });
    const app = createApp(
      { ...config, zstackUrl: `http://127.0.0.1:${port}/zstack` },
      { logger: createLogger('silent') },
    );
    const server = createServer(app.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`;
      const first = await request(url);
      expect(first.statusCode).toBe(503);
      expect(JSON.parse(await first.body.text()).reason).toContain('ECONNREFUSED');
      // Now something listens there, but the cached verdict stands for READY_CACHE_MS.
      const again = await request(url);
      expect(again.statusCode).toBe(503);
      await again.body.text();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
    }
  });
});

describe('request ids and the request log line', () => {
  it('echoes a sane x-request-id and makes one otherwise', async () => {
    const given = await h.gql('{ __typename }', {}, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await h.gql('{ __typename }', {}, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request: id, operation, code, duration, upstream calls and job polls', async () => {
    const session = await h.adminSession();
    h.logs.length = 0;
    const pending = h.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid;
    const res = await h.gql(
      CHANGE,
      { input: { uuid: pending, statusEvent: 'APPROVE' } },
      { session, headers: { 'x-request-id': 'req-42' } },
    );
    expect(res.body.errors).toBeUndefined();
    const line = parsedLogs().find((l) => l.reqId === 'req-42' && l.msg === 'request');
    expect(line).toMatchObject({
      level: 30,
      operation: 'Change',
      code: 'OK',
      status: 200,
      path: '/graphql',
      upstream: { calls: expect.any(Number) },
      jobs: { count: 1, polls: expect.any(Number) },
    });
    expect((line?.upstream as { calls: number } | undefined)?.calls).toBeGreaterThanOrEqual(2);
    expect(line?.durationMs).toEqual(expect.any(Number));
    expect(h.logs.join('\n')).not.toContain(session);
  });

  it('logs the first error code of a failed request, and no operation name for a document that did not validate', async () => {
    await h.gql('query Anon { session { uuid } nope }');
    const line = parsedLogs().find((l) => l.msg === 'request');
    expect(line).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', errors: 1 });
    expect(line?.operation).toBeUndefined();
  });

  it('an upstream error the caller got with its code is no error line, twice in a row', async () => {
    const session = await h.adminSession();
    h.simulator.controls.expireSession(session);
    h.logs.length = 0;
    for (let i = 0; i < 2; i++) {
      const res = await h.gql('query Mine { tickets(first: 1) { nodes { uuid } } }', {}, { session });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const lines = parsedLogs();
    expect(lines.filter((l) => l.msg === 'request')).toHaveLength(2);
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('builds no debug lines at info level', async () => {
    const session = await h.adminSession();
    await h.gql('{ session { uuid } }', {}, { session });
    expect(parsedLogs().some((l) => (l.level as number) < 30)).toBe(false);
  });
});

describe('/metrics', () => {
  it('counts requests by operation and code, and times upstream calls and jobs', async () => {
    const session = await h.adminSession();
    const pending = h.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid;
    await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } }, { session });
    await h.gql(CHANGE, { input: { uuid: pending, statusEvent: 'APPROVE' } });
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/graphql_requests_total\{operation="Change",code="OK"\} [1-9]/);
    expect(res.text).toMatch(/graphql_requests_total\{operation="Change",code="UNAUTHENTICATED"\} [1-9]/);
    expect(res.text).toMatch(/graphql_request_duration_seconds_count\{operation="Change"\} [1-9]/);
    expect(res.text).toMatch(
      /zstack_upstream_duration_seconds_count\{method="PUT",route="\/v1\/tickets\/\{uuid\}\/actions",status="202"\} [1-9]/,
    );
    expect(res.text).toMatch(/zstack_job_wait_seconds_count\{route="[^"]+",outcome="succeeded"\} [1-9]/);
    expect(res.text).toMatch(/zstack_job_polls_count\{route="[^"]+",outcome="succeeded"\} [1-9]/);
    expect(res.text).not.toContain(session);
  });

  it('counts only /graphql in the GraphQL metrics; other paths in http_requests_total by status', async () => {
    const before = await get('/metrics');
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const NOT_FOUND = /^http_requests_total\{status="404"\} (\d+)$/m;
    const GRAPHQL_404 = /^graphql_requests_total\{operation="anonymous",code="NOT_FOUND"\} (\d+)$/m;
    const ANONYMOUS_DURATION = /^graphql_request_duration_seconds_count\{operation="anonymous"\} (\d+)$/m;
    for (const path of ['/wp-login.php', '/.env', '/graphql/', '/x/../admin']) {
      const res = await get(path);
      expect(res.status).toBe(404);
    }
    await h.gql('{ __typename }');
    const after = await get('/metrics');
    expect(count(after.text, NOT_FOUND) - count(before.text, NOT_FOUND)).toBe(4);
    expect(after.text).not.toMatch(GRAPHQL_404);
    expect(after.text).not.toMatch(/code="HTTP_404"/);
    // The one /graphql request is the only new observation of the anonymous operation's duration.
    expect(count(after.text, ANONYMOUS_DURATION) - count(before.text, ANONYMOUS_DURATION)).toBe(1);
    expect(after.text).toContain('# TYPE http_requests_total counter');
  });

  it('keeps operation labels bounded and sane whatever callers send', async () => {
    await h.gql('query Weird { __typename }', {}, {});
    await request(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', operationName: 'x"} 1\nevil' }),
    }).then((r) => r.body.text());
    const res = await get('/metrics');
    expect(res.text).not.toContain('evil');
  });
});

describe('the request body limit (MAX_BODY_BYTES=4096 here)', () => {
  const big = JSON.stringify({ query: `{ __typename }${' '.repeat(5000)}` });

  it('refuses a declared Content-Length over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await request(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.statusCode).toBe(413);
    const body = JSON.parse(await res.body.text());
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0].message).toContain('4096');
  });

  it('refuses a chunked body that grows over the limit', async () => {
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield Buffer.from(' '.repeat(1000));
    }
    const res = await request(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    });
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(await res.body.text()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('serves a chunked body under the limit', async () => {
    async function* chunks() {
      yield Buffer.from('{"query":');
      yield Buffer.from('"{ __typename }"}');
    }
    const res = await request(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: Readable.from(chunks()),
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text())).toEqual({ data: { __typename: 'Query' } });
  });

  it('serves a body just under the limit', async () => {
    const query = `{ __typename }${' '.repeat(3900)}`;
    const res = await h.gql(query);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ __typename: 'Query' });
  });
});

describe('malformed request parameters', () => {
  it.each([
    ['GET variables', `?query=${encodeURIComponent('{ __typename }')}&variables=%20`],
    ['GET extensions', `?query=${encodeURIComponent('{ __typename }')}&extensions={`],
  ])('%s that is not JSON is 400 BAD_REQUEST, not a masked internal error', async (_name, qs) => {
    const res = await request(`${h.url}${qs}`, { headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(await res.body.text());
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent('{ __typename }')}`],
    ['text/plain', JSON.stringify({ query: '{ __typename }' })],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('a POST as %s is refused with 415 BAD_REQUEST (no page can post a form to it)', async (type, body) => {
    const res = await request(h.url, {
      method: 'POST',
      headers: { 'content-type': type, accept: 'application/json' },
      body,
    });
    expect(res.statusCode).toBe(415);
    expect(JSON.parse(await res.body.text()).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});
