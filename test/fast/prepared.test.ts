import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { preparedKey } from '../../src/prepared.js';
import type { ZStackClient } from '../../src/zstack/client.js';
import {
  answersUnderTicketsTimeout,
  json,
  listen,
  type Side,
  send,
  stopSide,
  throwingClient,
  useSimulator,
} from './support.js';

/**
 * Prepared operations (src/prepared.ts): a text that went through yoga's pipeline once runs
 * straight from the cache the next time. These tests send every request twice to an app with
 * them (the second answer is the prepared one) and once to an app where yoga's handler answers
 * everything, and compare status, content type and body.
 */

async function startSide(
  zstackUrl: string,
  env: Record<string, string>,
  fastPath: boolean,
  client?: ZStackClient,
): Promise<Side> {
  const config = loadConfig({ LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC', ...env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(line) });
  return listen(
    createApp({ ...config, zstackUrl }, { logger, fastPath, deps: client ? { client } : {} }),
    logs,
  );
}

const isPrepared = (side: Side, query: string, operationName?: string) => {
  const key = preparedKey(query, operationName);
  return key !== undefined && side.app.gateway.prepared?.get(key) !== undefined;
};

const shared = useSimulator();

const TICKETS = '{ tickets(first: 3) { nodes { uuid name status createDate } } }';
const auth = () => ({ authorization: `OAuth ${shared.session}` });

describe('a prepared operation answers exactly as yoga does', () => {
  let prepared: Side;
  let yoga: Side;
  beforeAll(async () => {
    const env = { GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_ALIASES: '3' };
    [prepared, yoga] = await Promise.all([
      startSide(shared.sim.url, env, true),
      startSide(shared.sim.url, env, false),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stopSide(prepared), stopSide(yoga)]);
  });
  beforeEach(() => shared.sim.controls.clearFaults());

  /** name, query, variables, operationName, headers: each is prepared after its first run. */
  const cases: [string, string, unknown, string | undefined, () => Record<string, string>][] = [
    ['success', TICKETS, undefined, undefined, auth],
    ['operationName picks one', `query A { __typename } query B ${TICKETS}`, undefined, 'B', auth],
    [
      'the other operation of the same text',
      `query A { __typename } query B ${TICKETS}`,
      undefined,
      'A',
      auth,
    ],
    ['variables', 'query($n: Int) { tickets(first: $n) { nodes { uuid } } }', { n: 2 }, undefined, auth],
    [
      'bad variables',
      'query($n: Int) { tickets(first: $n) { nodes { uuid } } }',
      { n: 'x' },
      undefined,
      auth,
    ],
    ['missing required variable', 'query($u: ID!) { ticket(uuid: $u) { uuid } }', undefined, undefined, auth],
    ['unauthenticated', TICKETS, undefined, undefined, () => ({})],
    [
      'a mutation refused by ZStack',
      'mutation { logOut { loggedOut } }',
      undefined,
      undefined,
      () => ({ authorization: `OAuth ${'0'.repeat(32)}` }),
    ],
    [
      'a bad input refused before any call',
      'mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { uuid } } }',
      { i: { uuid: 'not-a-uuid', statusEvent: 'APPROVE' } },
      undefined,
      auth,
    ],
  ];
  const accepts: [string, Record<string, string>][] = [
    ['no Accept', {}],
    ['graphql-response+json', { accept: 'application/graphql-response+json' }],
  ];

  for (const [acceptName, acceptHeaders] of accepts) {
    it.each(cases)(`%s (${acceptName})`, async (_name, query, variables, operationName, headers) => {
      const body = json(query, variables, operationName === undefined ? {} : { operationName });
      const h = { ...headers(), ...acceptHeaders };
      const first = await send(prepared.url, body, h);
      expect(isPrepared(prepared, query, operationName)).toBe(true);
      const second = await send(prepared.url, body, h);
      const reference = await send(yoga.url, body, h);
      expect(first).toEqual(reference);
      expect(second).toEqual(reference);
    });
  }

  it('the cases really differ (the table does not compare one error with itself)', async () => {
    const ok = await send(prepared.url, json(TICKETS), auth());
    const refused = await send(prepared.url, json(TICKETS), {});
    expect(JSON.parse(ok.body).data.tickets.nodes).toHaveLength(3);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('upstream errors: the same code, message and status when prepared', async () => {
    await send(prepared.url, json(TICKETS), auth());
    expect(isPrepared(prepared, TICKETS)).toBe(true);
    const answers = await answersUnderTicketsTimeout(
      shared.sim,
      [prepared.url, yoga.url],
      json(TICKETS),
      auth(),
    );
    expect(answers[0]).toEqual(answers[1]);
    expect(JSON.parse(answers[0]?.body ?? '').errors[0].extensions.code).toBe('UPSTREAM_TIMEOUT');
  });

  it.each([
    ['a validation error', '{ tickets(first: 1) { nodes { uuuid } } }', {}],
    ['an unknown operationName', TICKETS, { operationName: 'Nope' }],
    ['a parse error', '{ tickets(first: ', {}],
    [
      'the alias limit',
      '{ a: session { uuid } b: session { uuid } c: session { uuid } d: session { uuid } }',
      {},
    ],
    ['extensions beside the text', TICKETS, { extensions: { client: 'x' } }],
  ])('%s is never prepared, and answered as yoga does each time', async (_name, query, extra) => {
    const body = json(query, undefined, extra);
    const reference = await send(yoga.url, body, auth());
    for (let i = 0; i < 2; i++) expect(await send(prepared.url, body, auth())).toEqual(reference);
    const name = (extra as { operationName?: string }).operationName;
    if (!('extensions' in extra)) expect(isPrepared(prepared, query, name)).toBe(false);
  });

  it('a text is not run as the prepared operation of another request', async () => {
    const both = `query A { __typename } query B ${TICKETS}`;
    await send(prepared.url, json(both, undefined, { operationName: 'B' }), auth());
    expect(isPrepared(prepared, both, 'B')).toBe(true);
    // An empty operationName is not a missing one, and a U+0000 never joins name and text.
    for (const body of [
      json(both, undefined, { operationName: '' }),
      json(`B\u0000${both}`),
      json(both, undefined, { operationName: 'B\u0000' }),
    ]) {
      expect(await send(prepared.url, body, auth())).toEqual(await send(yoga.url, body, auth()));
    }
  });

  it('a prepared mutation reaches ZStack once per request, and the log line counts its calls', async () => {
    const [t1, t2] = shared.sim.controls.listTickets().filter((t) => t.status === 'Pending');
    const doc =
      'mutation Approve($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { uuid status } } }';
    prepared.logs.length = 0;
    for (const [n, ticket] of [t1, t2].entries()) {
      shared.sim.controls.clearRequests();
      const res = await send(prepared.url, json(doc, { i: { uuid: ticket?.uuid, statusEvent: 'APPROVE' } }), {
        ...auth(),
        'x-request-id': `prepared-${n}`,
      });
      expect(JSON.parse(res.body).data.changeTicketStatus.ticket.uuid).toBe(ticket?.uuid);
      expect(shared.sim.controls.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    }
    expect(isPrepared(prepared, doc)).toBe(true);
    const lines = prepared.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    for (const n of [0, 1]) {
      const line = lines.find((l) => l.reqId === `prepared-${n}`);
      expect(line).toMatchObject({
        operation: 'Approve',
        code: 'OK',
        upstream: { calls: 2 },
        jobs: { count: 1 },
      });
    }
  });
});

describe('with PERSISTED_OPERATIONS_ONLY', () => {
  let side: Side;
  const DOC = '{ tickets(first: 1) { nodes { uuid } } }';
  const HASH = createHash('sha256').update(DOC).digest('hex');
  beforeAll(async () => {
    const manifest = join(tmpdir(), `prepared-manifest-${process.pid}.json`);
    writeFileSync(manifest, JSON.stringify({ [HASH]: DOC }));
    side = await startSide(
      shared.sim.url,
      { PERSISTED_OPERATIONS_FILE: manifest, PERSISTED_OPERATIONS_ONLY: 'true' },
      true,
    );
  });
  afterAll(() => stopSide(side));

  it('a text is refused every time, even one that ran as a persisted operation', async () => {
    const byHash = JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: HASH } } });
    for (let i = 0; i < 2; i++) {
      const ok = await send(side.url, byHash, auth());
      expect(JSON.parse(ok.body).data.tickets.nodes).toHaveLength(1);
      const refused = await send(side.url, json(DOC), auth());
      expect(JSON.parse(refused.body).data).toBeUndefined();
      expect(JSON.parse(refused.body).errors.length).toBeGreaterThan(0);
    }
    expect(isPrepared(side, DOC)).toBe(false);
  });
});

describe('an unexpected error in a prepared operation', () => {
  let side: Side;
  beforeAll(async () => {
    const client = throwingClient();
    side = await startSide('http://zstack.invalid/zstack', {}, true, client);
  });
  afterAll(() => stopSide(side));

  it('is masked, and logged once per request with its request id and operation', async () => {
    const query = 'query Boom { tickets(first: 1) { nodes { uuid } } }';
    for (const id of ['boom-1', 'boom-2']) {
      const res = await send(side.url, json(query), {
        authorization: `OAuth ${'d'.repeat(32)}`,
        'x-request-id': id,
      });
      expect(res.body).not.toContain('boom');
      expect(JSON.parse(res.body).errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    }
    expect(isPrepared(side, query)).toBe(true);
    const masked = side.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'unexpected error, masked from the caller');
    expect(masked.map((l) => [l.reqId, l.operation])).toEqual([
      ['boom-1', 'Boom'],
      ['boom-2', 'Boom'],
    ]);
    const text = side.logs.join('');
    expect(text).not.toContain('d'.repeat(32));
    expect(text).not.toContain('c'.repeat(32));
  });
});
