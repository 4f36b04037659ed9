/**
 * Automatic persisted queries, as Apollo's PersistedQueryLink speaks them, over real HTTP against the
 * simulator: by the JSON POST entry and by GET (yoga's handler), beside the manifest, bounded in
 * bytes, off with PERSISTED_OPERATIONS_ONLY, and shared by several gateways through Redis.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApqStore } from '../../src/plugins/apq.js';
import type { Simulator } from '../../src/simulator/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { skipRedisTests } from '../helpers/redis.js';
import { useRedisFixture } from '../helpers/redis-gateways.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const LIST = 'query Pending { tickets(first: 2) { nodes { uuid status } } }';

interface Answer {
  status: number;
  data?: { tickets?: { nodes: unknown[] } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Sends one request as Apollo's link does: POST with a JSON body, or GET with URL parameters. */
async function send(
  url: string,
  session: string,
  body: { query?: string; extensions?: unknown },
  method: 'POST' | 'GET' = 'POST',
): Promise<Answer> {
  const headers: Record<string, string> = {
    accept: 'application/graphql-response+json,application/json;q=0.9',
    authorization: `OAuth ${session}`,
  };
  let res: Awaited<ReturnType<typeof request>>;
  if (method === 'POST') {
    res = await request(url, {
      method,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } else {
    const search = new URLSearchParams();
    if (body.query !== undefined) search.set('query', body.query);
    search.set('extensions', JSON.stringify(body.extensions));
    res = await request(`${url}?${search}`, { method, headers });
  }
  return { status: res.statusCode, ...((await res.body.json()) as object) };
}

const hashOnly = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
const withDocument = (query: string, hash = sha256(query)) => ({ query, ...hashOnly(hash) });

function codeOf(answer: Answer): string | undefined {
  return answer.errors?.[0]?.extensions?.code;
}

async function adminSession(h: Harness): Promise<string> {
  const { admin } = h.simulator.controls.demo;
  return h.logIn({ accountName: admin.accountName, password: admin.password });
}

/** Tickets queries the simulator has seen since the last clearRequests(). */
const ticketQueries = (simulator: Simulator) =>
  simulator.controls.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/v1/tickets')).length;

describe('automatic persisted queries on one gateway (defaults)', () => {
  let h: Harness;
  let session: string;
  beforeAll(async () => {
    h = await startHarness();
    session = await adminSession(h);
  });
  afterAll(() => h.close());

  it.each(['POST', 'GET'] as const)(
    'answers an unknown hash sent alone by %s with PersistedQueryNotFound, calling nothing upstream',
    async (method) => {
      h.simulator.controls.clearRequests();
      const out = await send(h.url, session, hashOnly(sha256(`${LIST} # ${method}`)), method);
      expect(out.errors?.[0]?.message).toBe('PersistedQueryNotFound');
      expect(codeOf(out)).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(out.status).toBe(400);
      expect(out.data ?? undefined).toBeUndefined();
      expect(h.simulator.controls.requests).toHaveLength(0);
    },
  );

  it.each(['POST', 'GET'] as const)(
    'runs and registers a document sent with its hash by %s; the hash alone then runs it',
    async (method) => {
      const query = `${LIST} # registered by ${method}`;
      const before = h.gateway.apq?.local.size ?? 0;
      h.simulator.controls.clearRequests();
      const first = await send(h.url, session, withDocument(query), method);
      expect(first.errors).toBeUndefined();
      expect(first.data?.tickets?.nodes).toHaveLength(2);
      expect(ticketQueries(h.simulator)).toBe(1);
      expect(h.gateway.apq?.local.size).toBe(before + 1);

      for (const again of ['POST', 'GET'] as const) {
        h.simulator.controls.clearRequests();
        const out = await send(h.url, session, hashOnly(sha256(query)), again);
        expect(out.errors).toBeUndefined();
        expect(out.data?.tickets?.nodes).toHaveLength(2);
        expect(ticketQueries(h.simulator)).toBe(1);
      }
    },
  );

  it.each(['POST', 'GET'] as const)(
    'refuses by %s a hash that is not its document’s: nothing runs, nothing is stored',
    async (method) => {
      const query = `${LIST} # mismatched by ${method}`;
      const other = sha256(`${query} `);
      const before = h.gateway.apq?.local.size;
      h.simulator.controls.clearRequests();
      const out = await send(h.url, session, withDocument(query, other), method);
      expect(codeOf(out)).toBe('PERSISTED_QUERY_MISMATCH');
      expect(out.status).toBe(400);
      expect(out.errors?.[0]?.extensions).toEqual({ code: 'PERSISTED_QUERY_MISMATCH' });
      expect(out.data ?? undefined).toBeUndefined();
      expect(h.simulator.controls.requests).toHaveLength(0);
      expect(h.gateway.apq?.local.size).toBe(before);
      // Neither the claimed hash nor the document's own one runs now.
      expect(codeOf(await send(h.url, session, hashOnly(other)))).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(codeOf(await send(h.url, session, hashOnly(sha256(query))))).toBe('PERSISTED_QUERY_NOT_FOUND');
    },
  );

  it('stores only documents that pass validation', async () => {
    const invalid = 'query Junk { noSuchField }';
    const before = h.gateway.apq?.local.size;
    const out = await send(h.url, session, withDocument(invalid));
    expect(codeOf(out)).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsable = 'query Junk {';
    expect(codeOf(await send(h.url, session, withDocument(unparsable)))).toBe('GRAPHQL_PARSE_FAILED');
    expect(h.gateway.apq?.local.size).toBe(before);
    expect(codeOf(await send(h.url, session, hashOnly(sha256(invalid))))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('refuses a protocol version other than 1', async () => {
    const out = await send(h.url, session, {
      extensions: { persistedQuery: { version: 2, sha256Hash: sha256(LIST) } },
    });
    expect(codeOf(out)).toBe('BAD_REQUEST');
    expect(out.errors?.[0]?.message).toMatch(/persisted query version/);
  });
});

describe('the store is bounded in bytes', () => {
  let h: Harness;
  let session: string;
  // Each entry weighs 2 bytes per character plus 256: about 3 of these documents fit in 1,200 bytes.
  const docs = [1, 2, 3, 4, 5].map((n) => `${LIST} # ${'x'.repeat(60)} ${n}`);
  beforeAll(async () => {
    h = await startHarness({ env: { APQ_CACHE_MAX_BYTES: '1200' } });
    session = await adminSession(h);
  });
  afterAll(() => h.close());

  it('evicts the least recently used documents past APQ_CACHE_MAX_BYTES', async () => {
    for (const doc of docs) expect((await send(h.url, session, withDocument(doc))).errors).toBeUndefined();
    const store = h.gateway.apq;
    expect(store?.local.maxBytes).toBe(1200);
    expect(store?.local.bytes).toBeLessThanOrEqual(1200);
    expect(store?.local.size).toBeLessThan(docs.length);
    const first = docs[0] as string;
    const last = docs[docs.length - 1] as string;
    expect(codeOf(await send(h.url, session, hashOnly(sha256(first))))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await send(h.url, session, hashOnly(sha256(last)))).data?.tickets?.nodes).toHaveLength(2);
  });

  it('never stores a document over GRAPHQL_MAX_DOCUMENT_BYTES', async () => {
    const big = `${LIST} # ${'y'.repeat(70 * 1024)}`;
    const out = await send(h.url, session, withDocument(big));
    expect(codeOf(out)).toBe('DOCUMENT_SIZE_LIMIT_EXCEEDED');
    expect(codeOf(await send(h.url, session, hashOnly(sha256(big))))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('automatic persisted queries switched off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'apq-'));
  const SESSION_QUERY = 'query Me { session { uuid } }';
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ [sha256(SESSION_QUERY)]: SESSION_QUERY }));
  let started: Harness[] = [];
  afterEach(async () => {
    await Promise.all(started.map((h) => h.close()));
    started = [];
  });

  it('with PERSISTED_OPERATIONS_ONLY=true: only the manifest runs, a document with its hash is refused', async () => {
    const h = await startHarness({
      env: { PERSISTED_OPERATIONS_FILE: manifest, PERSISTED_OPERATIONS_ONLY: 'true' },
    });
    started.push(h);
    expect(h.gateway.apq).toBeUndefined();
    const session = await loginUpstream(h);
    h.simulator.controls.clearRequests();
    const out = await send(h.url, session, withDocument(LIST));
    expect(codeOf(out)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await send(h.url, session, hashOnly(sha256(LIST))))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(ticketQueries(h.simulator)).toBe(0);
    const known = await send(h.url, session, hashOnly(sha256(SESSION_QUERY)));
    expect(known.errors).toBeUndefined();
  });

  it('the manifest comes first: its hash runs its document', async () => {
    const h = await startHarness({ env: { PERSISTED_OPERATIONS_FILE: manifest } });
    started.push(h);
    const session = await adminSession(h);
    const out = await send(h.url, session, hashOnly(sha256(SESSION_QUERY)));
    expect(out.errors).toBeUndefined();
    expect(out.data).toEqual({ session: { uuid: session } });
    // Beside it, automatic registration works as without a manifest.
    expect((await send(h.url, session, withDocument(LIST))).errors).toBeUndefined();
    expect((await send(h.url, session, hashOnly(sha256(LIST)))).data?.tickets?.nodes).toHaveLength(2);
  });

  it('with APQ_CACHE_MAX_BYTES=0: PersistedQueryNotSupported, so Apollo’s link sends documents alone', async () => {
    const h = await startHarness({ env: { APQ_CACHE_MAX_BYTES: '0' } });
    started.push(h);
    const session = await adminSession(h);
    const out = await send(h.url, session, hashOnly(sha256(LIST)));
    expect(out.errors?.[0]?.message).toBe('PersistedQueryNotSupported');
    expect(codeOf(out)).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    expect((await send(h.url, session, { query: LIST })).data?.tickets?.nodes).toHaveLength(2);
  });
});

/** A session made at the simulator itself (logIn is not in a manifest-only gateway's manifest). */
async function loginUpstream(h: Harness): Promise<string> {
  const { admin } = h.simulator.controls.demo;
  const res = await request(`${h.simulator.url}/v1/accounts/login`, {
    method: 'PUT',
    body: JSON.stringify({
      logInByAccount: {
        accountName: admin.accountName,
        password: createHash('sha512').update(admin.password).digest('hex'),
      },
    }),
  });
  return ((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid;
}

describe.skipIf(skipRedisTests)('several gateways on one Redis', () => {
  const fx = useRedisFixture();
  const start = (n: number, env: Record<string, string> = {}) => fx.start(n, env);

  it('share a registration: registered through one, the hash alone runs on the other', async () => {
    const [a, b] = (await start(2)) as [Harness, Harness];
    const session = await adminSession(a);
    const query = `${LIST} # shared`;
    expect(codeOf(await send(b.url, session, hashOnly(sha256(query))))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await send(a.url, session, withDocument(query))).errors).toBeUndefined();
    const client = new Redis(fx.redis.url);
    try {
      // Stored under the prefix, with a TTL.
      const key = `${fx.prefix}apq:${sha256(query)}`;
      await expect.poll(() => client.get(key)).toBe(query);
      expect(await client.ttl(key)).toBeGreaterThan(0);
      // A document in Redis that does not hash to its key is ignored.
      const forged = sha256(`${query} forged`);
      await client.set(`${fx.prefix}apq:${forged}`, '{ session { uuid } }');
      expect(codeOf(await send(b.url, session, hashOnly(forged)))).toBe('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      client.disconnect();
    }
    fx.simulator.controls.clearRequests();
    const out = await send(b.url, session, hashOnly(sha256(query)), 'GET');
    expect(out.errors).toBeUndefined();
    expect(out.data?.tickets?.nodes).toHaveLength(2);
    expect(ticketQueries(fx.simulator)).toBe(1);
  });

  it('writes at most APQ_REDIS_MAX_BYTES_PER_MINUTE of documents to Redis; past it registrations stay local', async () => {
    const [a, b] = (await start(2, { APQ_REDIS_MAX_BYTES_PER_MINUTE: '120' })) as [Harness, Harness];
    const session = await adminSession(a);
    const first = `${LIST} # first`;
    const second = `${LIST} # second: the first used up this minute's bytes`;
    expect(Buffer.byteLength(first) + Buffer.byteLength(second)).toBeGreaterThan(120);
    for (const query of [first, second]) {
      expect((await send(a.url, session, withDocument(query))).errors).toBeUndefined();
      // Both run by hash where they were registered.
      expect((await send(a.url, session, hashOnly(sha256(query)))).errors).toBeUndefined();
    }
    const client = new Redis(fx.redis.url);
    try {
      const keys = await client.keys(`${fx.prefix}apq:*`);
      expect(keys).toEqual([`${fx.prefix}apq:${sha256(first)}`]);
    } finally {
      client.disconnect();
    }
    expect((await send(b.url, session, hashOnly(sha256(first)))).errors).toBeUndefined();
    expect(codeOf(await send(b.url, session, hashOnly(sha256(second))))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('without Redis each instance keeps its own store, and no request fails', async () => {
    const [a] = (await start(1)) as [Harness];
    const session = await adminSession(a);
    await fx.redis.stop();
    try {
      const query = `${LIST} # while Redis is down`;
      expect(codeOf(await send(a.url, session, hashOnly(sha256(query))))).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect((await send(a.url, session, withDocument(query))).errors).toBeUndefined();
      expect((await send(a.url, session, hashOnly(sha256(query)))).data?.tickets?.nodes).toHaveLength(2);
    } finally {
      await fx.redis.start();
    }
  });
});

it('the Redis write budget is counted per minute of the store clock', () => {
  let now = 0;
  const written: string[] = [];
  const redis = {
    status: 'ready',
    set(key: string) {
      written.push(key);
      return Promise.resolve('OK');
    },
  } as unknown as Redis;
  const store = createApqStore({
    maxBytes: 1 << 20,
    maxDocumentBytes: 1 << 16,
    redis,
    redisMaxBytesPerMinute: 10,
    now: () => now,
  });
  const register = (document: string) => store.set(sha256(document), document);
  register('{ a }{ b }'); // 10 bytes: this minute's whole budget
  register('{ c }');
  now = 59_999;
  register('{ d }');
  now = 60_000;
  register('{ e }');
  expect(written).toEqual([sha256('{ a }{ b }'), sha256('{ e }')].map((h) => `apq:${h}`));
  // Every registration is kept on this instance, written to Redis or not.
  expect(store.local.size).toBe(4);
});
