import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OpsHarness, startOps } from './support.js';

const SESSION_QUERY = 'query Me { session { uuid } }';
const manifestDir = mkdtempSync(join(tmpdir(), 'zstack-graphql-path-'));
const manifest = join(manifestDir, 'persisted.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
writeFileSync(manifest, JSON.stringify({ [sha256(SESSION_QUERY)]: SESSION_QUERY }));

let h: OpsHarness;
beforeAll(async () => {
  h = await startOps({
    env: { PERSISTED_OPERATIONS_FILE: manifest, CORS_ORIGINS: 'https://console.example.com' },
  });
});
afterAll(() => h.close());
beforeEach(() => {
  h.logs.length = 0;
});

interface Kind {
  name: string;
  method: 'GET' | 'POST' | 'OPTIONS';
  /** Below the gateway's origin. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  status: number;
  entry: string;
  code?: string;
  /** Text the answer must hold. */
  contains?: string;
}

const json = { 'content-type': 'application/json', accept: 'application/json' };
const kinds: Kind[] = [
  {
    name: 'a JSON POST',
    method: 'POST',
    path: '/graphql',
    headers: json,
    body: JSON.stringify({ query: '{ __typename }' }),
    status: 200,
    entry: 'graphql-post',
  },
  {
    name: 'a JSON POST asking for application/graphql-response+json',
    method: 'POST',
    path: '/graphql',
    headers: { ...json, accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: '{ __typename }' }),
    status: 200,
    entry: 'graphql-post',
  },
  {
    name: 'a persisted operation',
    method: 'POST',
    path: '/graphql',
    headers: json,
    body: JSON.stringify({
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(SESSION_QUERY) } },
    }),
    status: 200,
    entry: 'graphql-post',
    contains: '"data":{"session":',
  },
  {
    name: 'a batched body',
    method: 'POST',
    path: '/graphql',
    headers: json,
    body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    status: 400,
    entry: 'graphql-post',
    code: 'BAD_REQUEST',
  },
  {
    name: 'a malformed JSON body',
    method: 'POST',
    path: '/graphql',
    headers: json,
    body: '{"query": ',
    status: 400,
    entry: 'graphql-post',
    code: 'BAD_REQUEST',
  },
  {
    // A type at q=0 is one its client refuses (RFC 9110): the JSON it does accept is the answer.
    name: 'a JSON POST that refuses streams (text/event-stream;q=0)',
    method: 'POST',
    path: '/graphql',
    headers: { ...json, accept: 'application/json, text/event-stream;q=0' },
    body: JSON.stringify({ query: '{ __typename }' }),
    status: 200,
    entry: 'graphql-post',
  },
  {
    name: 'a JSON POST that refuses everything it names (multipart/mixed;q=0 only)',
    method: 'POST',
    path: '/graphql',
    headers: { ...json, accept: 'multipart/mixed;q=0' },
    body: JSON.stringify({ query: '{ __typename }' }),
    status: 406,
    entry: 'refused',
    code: 'NOT_ACCEPTABLE',
  },
  {
    name: 'a GET query',
    method: 'GET',
    path: `/graphql?query=${encodeURIComponent('{ __typename }')}`,
    headers: { accept: 'application/json' },
    status: 200,
    entry: 'yoga',
  },
  {
    name: 'an SSE request',
    method: 'GET',
    path: `/graphql?query=${encodeURIComponent('{ __typename }')}`,
    headers: { accept: 'text/event-stream' },
    status: 200,
    entry: 'yoga',
  },
  {
    name: 'the GraphiQL page',
    method: 'GET',
    path: '/graphql',
    headers: { accept: 'text/html' },
    status: 200,
    entry: 'yoga',
  },
  {
    name: 'a form POST',
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'query=%7B__typename%7D',
    status: 415,
    entry: 'refused',
    code: 'BAD_REQUEST',
  },
  {
    name: 'a POST from an unlisted origin',
    method: 'POST',
    path: '/graphql',
    headers: { ...json, origin: 'https://evil.example.net' },
    body: JSON.stringify({ query: '{ __typename }' }),
    status: 403,
    entry: 'refused',
    code: 'FORBIDDEN',
  },
  {
    name: 'a preflight from a listed origin',
    method: 'OPTIONS',
    path: '/graphql',
    headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' },
    status: 204,
    entry: 'cors-preflight',
  },
];

function requestLine(): Record<string, unknown> | undefined {
  return h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
}

describe('every kind of request takes one documented route', () => {
  it.each(kinds)('$name → $entry ($status)', async (kind) => {
    const res = await request(`${h.base}${kind.path}`, {
      method: kind.method,
      headers: kind.headers,
      body: kind.body,
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(kind.status);
    const line = requestLine();
    expect(line?.entry).toBe(kind.entry);
    if (kind.contains !== undefined) expect(text).toContain(kind.contains);
    if (kind.code !== undefined) {
      expect(line?.code).toBe(kind.code);
      expect(text).toContain(`"code":"${kind.code}"`);
    }
  });

  it('the kinds really go different ways (the table does not test one route)', () => {
    expect(new Set(kinds.map((k) => k.entry)).size).toBe(4);
  });
});

describe('both entries run the same pipeline', () => {
  it.each([
    ['a validation error', '{ nope }'],
    [
      'a refusal by a limit',
      `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: ticket(uuid: "${'a'.repeat(32)}") { uuid }`).join(' ')} }`,
    ],
    ['an upstream error', '{ tickets(first: 1) { totalCount } }'],
  ])('%s answers the same errors by POST and by GET', async (_name, query) => {
    const headers = { accept: 'application/json', authorization: `OAuth ${'e'.repeat(32)}` };
    const post = await request(h.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const get = await request(`${h.url}?query=${encodeURIComponent(query)}`, { headers });
    const [viaPost, viaGet] = [JSON.parse(await post.body.text()), JSON.parse(await get.body.text())];
    expect(viaPost.errors?.length).toBeGreaterThan(0);
    expect(viaPost).toEqual(viaGet);
  });
});

/** A request with its path sent exactly as given (undici and fetch normalize `/x/../graphql`). */
function rawRequest(
  path: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(h.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('one route for /graphql', () => {
  const variants = [
    '/graphql/',
    '//graphql',
    '/x/../graphql',
    '/./graphql',
    '/%67raphql',
    '/GRAPHQL',
    '/graphql;x',
  ];

  it.each(variants)(
    'a form POST to %s is not served: 404 with a code, and nothing reaches ZStack',
    async (path) => {
      const session = await h.adminSession();
      h.simulator.controls.clearRequests();
      const { status, text } = await rawRequest(
        path,
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded', authorization: `OAuth ${session}` },
        `query=${encodeURIComponent('mutation { logOut { loggedOut } }')}`,
      );
      expect(status).toBe(404);
      expect(JSON.parse(text).errors[0].extensions.code).toBe('NOT_FOUND');
      expect(h.simulator.controls.requests).toEqual([]);
      const still = await h.gql('{ session { uuid } }', {}, { session });
      expect(still.body.data).toEqual({ session: { uuid: session } });
    },
  );

  it.each(variants)('a GET query at %s is not served either', async (path) => {
    const { status, text } = await rawRequest(
      `${path}?query=${encodeURIComponent('{ __typename }')}`,
      'GET',
      { accept: 'application/json' },
    );
    expect(status).toBe(404);
    expect(text).not.toContain('__typename');
    expect(requestLine()?.code).toBe('NOT_FOUND');
  });
});
