import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraphiQL } from '../../src/http/graphiql.js';
import { DEFAULT_QUERY } from '../../src/http/graphiql-query.js';
import { schema } from '../../src/schema/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';

// The dev tree installs the optional @graphql-yoga/graphiql; these tests need it.
const GRAPHIQL_ASSETS_PATH = loadGraphiQL()?.assetsPath as string;

describe('DEFAULT_QUERY', () => {
  it('is valid against the running schema and the committed schema.graphql', () => {
    const document = parse(DEFAULT_QUERY);
    expect(validate(schema, document)).toEqual([]);
    expect(validate(buildSchema(readFileSync('schema.graphql', 'utf8')), document)).toEqual([]);
  });

  it('offers the newcomer tour: log in, pending tickets, approve, reject, ticket history', () => {
    const names = parse(DEFAULT_QUERY).definitions.map((d) => ('name' in d ? d.name?.value : undefined));
    expect(names).toEqual(['LogIn', 'PendingTickets', 'Approve', 'Reject', 'Ticket']);
    expect(DEFAULT_QUERY).toContain('"Authorization": "OAuth <the session uuid>"');
  });

  it('shows project, requester, approvers and requested resources by name', () => {
    for (const shown of ['project { name }', 'virtualId { name }', 'approver { name }', 'resources { name'])
      expect(DEFAULT_QUERY).toContain(shown);
  });
});

describe('GraphiQL page and assets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  async function get(path: string, accept = '*/*') {
    const res = await request(new URL(path, h.url), { headers: { accept } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  it('renders a page whose assets all come from the gateway', async () => {
    const page = await get('/graphql', 'text/html');
    expect(page.status).toBe(200);
    expect(page.body).not.toMatch(/unpkg|githubusercontent|jsdelivr/);
    const assets = [...page.body.matchAll(/(?:src=|href=|")(\/graphiql-assets\/[^"\s>]+)/g)].map((m) => m[1]);
    expect(new Set(assets)).toEqual(
      new Set(
        [
          'graphiql.css',
          'yoga-graphiql.umd.js',
          'monacoeditorwork/editor.worker.bundle.js',
          'monacoeditorwork/json.worker.bundle.js',
          'monacoeditorwork/graphql.worker..bundle.js',
        ].map((name) => `${GRAPHIQL_ASSETS_PATH}${name}`),
      ),
    );
    // The tour opens in the editor, not GraphiQL's generic welcome text.
    expect(page.body).toContain('mutation LogIn');
    expect(page.body).not.toContain('is an in-browser tool');

    for (const path of assets) {
      const asset = await get(path as string);
      expect(asset.status, path).toBe(200);
      expect(asset.headers['content-type'], path).toMatch(
        path?.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      );
      expect(asset.headers['cache-control']).toContain('immutable');
      expect(asset.body.length).toBeGreaterThan(10_000);
    }
  });

  it.each([
    `${GRAPHIQL_ASSETS_PATH}package.json`,
    `${GRAPHIQL_ASSETS_PATH}../package.json`,
    `${GRAPHIQL_ASSETS_PATH}%2e%2e/package.json`,
    `${GRAPHIQL_ASSETS_PATH}yoga-graphiql.es.js`,
    '/graphiql-assets/0.0.0/graphiql.css',
    `${GRAPHIQL_ASSETS_PATH}constructor`,
    `${GRAPHIQL_ASSETS_PATH}__proto__`,
    `${GRAPHIQL_ASSETS_PATH}toString`,
  ])('answers 404 for %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('"version"');
    expect(res.body).not.toContain('node_modules');
  });
});

describe('without GraphiQL', () => {
  const cases: [string, Parameters<typeof startHarness>[0]][] = [
    ['GRAPHIQL=false', { env: { GRAPHIQL: 'false' } }],
    // What `npm ci --omit=optional` leaves: the package cannot be resolved.
    [
      'the optional package not installed',
      { deps: { graphiqlPackage: '@graphql-yoga/graphiql-not-installed' } },
    ],
  ];

  it.each(cases)('%s: no page, no assets, GraphQL still answers', async (_name, options) => {
    const h = await startHarness(options);
    try {
      expect(h.gateway.graphiql).toBe(false);
      const page = await request(h.url, { headers: { accept: 'text/html' } });
      const html = await page.body.text();
      expect(html).not.toContain('<html');
      expect(html).not.toContain('graphiql-assets');
      const asset = await request(`${h.base}${GRAPHIQL_ASSETS_PATH}graphiql.css`);
      await asset.body.dump();
      expect(asset.statusCode).toBe(404);
      const got = await h.gql<{ __typename: string }>('{ __typename }');
      expect(got.data).toEqual({ __typename: 'Query' });
      const byGet = await request(`${h.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { accept: 'application/json' },
      });
      expect(JSON.parse(await byGet.body.text())).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await h.close();
    }
  });

  it('the installed package is found and served', async () => {
    const h = await startHarness();
    try {
      expect(h.gateway.graphiql).toBe(true);
    } finally {
      await h.close();
    }
  });
});
