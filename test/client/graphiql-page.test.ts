import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../../src/gateway.js';
import { GRAPHIQL_ASSETS_PATH } from '../../src/http/graphiql.js';
import { schema } from '../../src/schema/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';

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
