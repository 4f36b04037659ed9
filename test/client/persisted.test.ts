import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { loadPersistedOperations } from '../../src/plugins/persisted.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
const SESSION_QUERY = 'query Me { session { uuid } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function manifest(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('persisted operations configuration', () => {
  it('reads PERSISTED_OPERATIONS_FILE and PERSISTED_OPERATIONS_ONLY', () => {
    expect(loadConfig({})).toMatchObject({
      persistedOperationsFile: undefined,
      persistedOperationsOnly: false,
    });
    expect(
      loadConfig({ PERSISTED_OPERATIONS_FILE: '/m.json', PERSISTED_OPERATIONS_ONLY: 'true' }),
    ).toMatchObject({ persistedOperationsFile: '/m.json', persistedOperationsOnly: true });
    expect(() => loadConfig({ PERSISTED_OPERATIONS_ONLY: 'true' })).toThrow(/PERSISTED_OPERATIONS_FILE/);
    expect(() =>
      loadConfig({ PERSISTED_OPERATIONS_FILE: '/m.json', PERSISTED_OPERATIONS_ONLY: 'maybe' }),
    ).toThrow(ConfigError);
  });

  it.each([
    ['a missing file', join(dir, 'missing.json'), /cannot read/],
    ['broken JSON', manifest('broken.json', '{'), /cannot read/],
    ['a list', manifest('list.json', '["query { x }"]'), /JSON object/],
    ['a non-string document', manifest('number.json', '{"abc": 1}'), /document of abc/],
  ])('refuses %s with a ConfigError', (_name, path, message) => {
    expect(() => loadPersistedOperations(path)).toThrow(ConfigError);
    expect(() => loadPersistedOperations(path)).toThrow(message);
  });
});

describe('a gateway with persisted operations only', () => {
  let h: Harness;
  let session: string;
  beforeAll(async () => {
    const path = manifest('ok.json', JSON.stringify({ [sha256(SESSION_QUERY)]: SESSION_QUERY }));
    h = await startHarness({ env: { PERSISTED_OPERATIONS_FILE: path, PERSISTED_OPERATIONS_ONLY: 'true' } });
    const { admin } = h.simulator.controls.demo;
    // logIn is not in this manifest, so get the session from the simulator's login API directly.
    const res = await request(`${h.simulator.url}/v1/accounts/login`, {
      method: 'PUT',
      body: JSON.stringify({
        logInByAccount: { accountName: admin.accountName, password: sha512(admin.password) },
      }),
    });
    session = ((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid;
  });
  afterAll(() => h.close());

  async function send(body: unknown, method: 'POST' | 'GET' = 'POST') {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `OAuth ${session}`,
    };
    const res =
      method === 'POST'
        ? await request(h.url, { method, headers, body: JSON.stringify(body) })
        : await request(
            `${h.url}?extensions=${encodeURIComponent(JSON.stringify((body as { extensions: unknown }).extensions))}`,
            {
              method,
              headers,
            },
          );
    return (await res.body.json()) as {
      data?: unknown;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
  }

  it.each(['POST', 'GET'] as const)('runs a known hash sent by %s', async (method) => {
    const out = await send(
      { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(SESSION_QUERY) } } },
      method,
    );
    expect(out.errors).toBeUndefined();
    expect(out.data).toEqual({ session: { uuid: session } });
  });

  it('answers PERSISTED_QUERY_NOT_IN_LIST for an unknown hash, without calling ZStack', async () => {
    h.simulator.controls.clearRequests();
    const out = await send({
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256('query { x }') } },
    });
    expect(out.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('refuses a document sent as text, even one that is in the manifest', async () => {
    const out = await send({ query: SESSION_QUERY });
    expect(out.errors?.[0]?.message).toBe('PersistedQueryOnly');
    expect(out.data).toBeUndefined();
  });
});

function sha512(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}
