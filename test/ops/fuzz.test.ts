import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHANGE, type OpsHarness, startOps } from './support.js';

let h: OpsHarness;
let session: string;
beforeAll(async () => {
  h = await startOps({ env: { LOG_LEVEL: 'silent', ZSTACK_TIMEOUT_MS: '1000' } });
  session = await h.adminSession();
});
afterAll(() => h.close());

const VALID = [
  CHANGE,
  '{ session { uuid accountUuid expiredDate } }',
  'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }',
  'query Q { __schema { types { name fields { name } } } }',
  'mutation { logOut { loggedOut } }',
];

interface Shot {
  method: 'GET' | 'POST';
  contentType: string | undefined;
  body: string | undefined;
  query: string | undefined;
  authorized: boolean;
}

/** A valid document with a few characters inserted, deleted or swapped. */
const mutated = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete'), fc.string({ maxLength: 3 })), {
      maxLength: 6,
    }),
  )
  .map(([doc, edits]) => {
    let out = doc;
    for (const [at, kind, text] of edits) {
      const i = at % (out.length + 1);
      out = kind === 'insert' ? out.slice(0, i) + text + out.slice(i) : out.slice(0, i) + out.slice(i + 1);
    }
    return out;
  });
const deep = fc.integer({ min: 1, max: 300 }).map((n) => `${'{ a '.repeat(n)}${'}'.repeat(n)}`);
const deepValid = fc
  .integer({ min: 1, max: 200 })
  .map((n) => `{ __type(name: "Query") { ${'ofType { '.repeat(n)}name${' }'.repeat(n)} } }`);
const aliases = fc
  .integer({ min: 1, max: 3000 })
  .map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: session { uuid }`).join(' ')} }`);
const document = fc.oneof(
  fc.string({ maxLength: 200 }),
  mutated,
  deep,
  deepValid,
  aliases,
  fc.constantFrom(...VALID),
);
const variables = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({
    input: fc.record({
      uuid: fc.oneof(fc.string(), fc.integer(), fc.constant('A'.repeat(32))),
      statusEvent: fc.jsonValue(),
    }),
    i: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })),
  }),
);
const jsonBody = fc
  .record({ query: fc.oneof(document, fc.jsonValue()), variables, operationName: fc.option(fc.string()) })
  .map((b) => JSON.stringify(b));
const garbage = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/graphql-response+json',
  'application/graphql',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  undefined,
);

const shot: fc.Arbitrary<Shot> = fc.oneof(
  fc.record({
    method: fc.constant('POST' as const),
    contentType,
    body: fc.oneof(jsonBody, garbage),
    query: fc.constant(undefined),
    authorized: fc.boolean(),
  }),
  fc.record({
    method: fc.constant('GET' as const),
    contentType: fc.constant(undefined),
    body: fc.constant(undefined),
    query: fc
      .record({ query: document, variables: fc.option(garbage), operationName: fc.option(fc.string()) })
      .map((q) => {
        const p = new URLSearchParams({ query: q.query });
        if (q.variables !== null) p.set('variables', q.variables);
        if (q.operationName !== null) p.set('operationName', q.operationName);
        return p.toString();
      }),
    authorized: fc.boolean(),
  }),
);

const STACK = /\bat .*\.(ts|js|mjs|cjs):\d+|node_modules|\/work\//;

it('random documents, variables, bodies and content types: no 5xx, no stack, still serving', async () => {
  await fc.assert(
    fc.asyncProperty(shot, async (s) => {
      const headers: Record<string, string> = {
        accept: 'application/graphql-response+json, application/json',
      };
      if (s.contentType) headers['content-type'] = s.contentType;
      if (s.authorized) headers.authorization = `OAuth ${session}`;
      const url = s.method === 'GET' ? `${h.url}?${s.query}` : h.url;
      const res = await request(url, { method: s.method, headers, body: s.body });
      const text = await res.body.text();
      expect(res.statusCode, text).toBeLessThan(500);
      expect(text).not.toMatch(STACK);
      if (text.length > 0 && res.headers['content-type']?.toString().includes('json')) {
        const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
        // `session { uuid }` rightly returns the caller's own session; an error never may.
        expect(JSON.stringify(body.errors ?? [])).not.toContain(session);
        for (const e of body.errors ?? []) expect(e.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
      } else {
        expect(text).not.toContain(session);
      }
    }),
    { numRuns: 300, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
  );
  const health = await request(`${h.base}/health`);
  expect(health.statusCode).toBe(200);
  await health.body.text();
  // The shots may include a valid `logOut` sent with the session, so still serving is proved with a fresh login.
  const fresh = await h.adminSession();
  const ok = await h.gql('{ session { uuid } }', {}, { session: fresh });
  expect(ok.body.data).toEqual({ session: { uuid: fresh } });
}, 60_000);
