import type { Plugin } from 'graphql-yoga';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Context } from '../../src/context.js';
import { createApp } from '../../src/http.js';
import { createLogger } from '../../src/logger.js';
import type { ZStackClient } from '../../src/zstack/client.js';
import { waitFor } from '../helpers/wait.js';
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

/** A Side that counts the requests that reached yoga's own handler. */
interface ProbedSide extends Side {
  /** Requests yoga's full (Fetch-API) handler saw: its onRequest hook runs for nothing else. */
  yogaRequests: number;
  /** The context signal of every operation executed, in order. */
  signals: AbortSignal[];
}

async function startSide(
  zstackUrl: string,
  env: Record<string, string>,
  fastPath: boolean,
  client?: ZStackClient,
  extra: Plugin[] = [],
): Promise<ProbedSide> {
  const config = loadConfig({ LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC', ...env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(line) });
  const counts = { yogaRequests: 0, signals: [] as AbortSignal[] };
  const probe: Plugin<Context> = {
    onRequest() {
      counts.yogaRequests++;
    },
    onExecute({ args }) {
      counts.signals.push((args.contextValue as Context).signal);
    },
  };
  const app = createApp(
    { ...config, zstackUrl },
    { logger, fastPath, deps: { plugins: [probe as Plugin, ...extra], ...(client ? { client } : {}) } },
  );
  const side = await listen(app, logs);
  return Object.defineProperties(side, {
    yogaRequests: { get: () => counts.yogaRequests },
    signals: { get: () => counts.signals },
  }) as ProbedSide;
}

const shared = useSimulator();

describe('the fast path answers exactly as yoga does', () => {
  let fast: ProbedSide;
  let slow: ProbedSide;
  beforeAll(async () => {
    const env = { MAX_BODY_BYTES: '4000', GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_ALIASES: '3' };
    [fast, slow] = await Promise.all([
      startSide(shared.sim.url, env, true),
      startSide(shared.sim.url, env, false),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stopSide(fast), stopSide(slow)]);
  });
  beforeEach(() => shared.sim.controls.clearFaults());

  const auth = () => ({ authorization: `OAuth ${shared.session}` });
  const TICKETS = '{ tickets(first: 3) { nodes { uuid name status createDate } } }';

  /** name, body, headers, and whether the fast app must serve it without yoga's handler. */
  const cases: [string, () => string, () => Record<string, string>, boolean][] = [
    ['success', () => json(TICKETS), auth, true],
    [
      'success, operationName picks one',
      () =>
        json(`query A { tickets(first: 1) { totalCount } } query B ${TICKETS}`, undefined, {
          operationName: 'B',
        }),
      auth,
      true,
    ],
    [
      'two operations and no operationName',
      () => json('query A { __typename } query B { __typename }'),
      auth,
      true,
    ],
    [
      'variables',
      () => json('query($n: Int) { tickets(first: $n) { nodes { uuid } } }', { n: 2 }),
      auth,
      true,
    ],
    [
      'bad variables',
      () => json('query($n: Int) { tickets(first: $n) { nodes { uuid } } }', { n: 'x' }),
      auth,
      true,
    ],
    ['missing required variable', () => json('query($u: ID!) { ticket(uuid: $u) { uuid } }'), auth, true],
    ['validation error: unknown field', () => json('{ tickets(first: 1) { nodes { uuuid } } }'), auth, true],
    ['parse error', () => json('{ tickets(first: '), auth, true],
    ['unauthenticated', () => json(TICKETS), () => ({}), true],
    ['malformed authorization', () => json(TICKETS), () => ({ authorization: 'Basic abc' }), true],
    [
      'depth limit',
      () =>
        json(
          '{ tickets { nodes { request { apiBody } history { uuid } } } } # a'.replace(
            '{ tickets',
            '{ a: ticket(uuid: "x") { uuid } tickets',
          ),
        ),
      auth,
      true,
    ],
    ['alias limit', () => json('{ a: __typename b: __typename c: __typename d: __typename }'), auth, true],
    ['unknown parameter', () => json(TICKETS, undefined, { foo: 1 }), auth, false],
    ['extensions object', () => json(TICKETS, undefined, { extensions: { client: 'x' } }), auth, true],
    ['variables not an object', () => json(TICKETS, [1]), auth, false],
    [
      'mutation',
      () => json('mutation { logOut(input: {}) { clientMutationId } }'),
      () => ({ authorization: `OAuth ${'0'.repeat(32)}` }),
      true,
    ],
    ['invalid JSON body', () => '{"query": ', auth, false],
    ['body is an array (batching)', () => `[${json(TICKETS)}]`, auth, false],
    ['body is a string', () => '"{ __typename }"', auth, false],
    ['missing query', () => JSON.stringify({ variables: {} }), auth, false],
    ['query not a string', () => JSON.stringify({ query: 1 }), auth, false],
    [
      'persisted query hash without query',
      () => JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } }),
      auth,
      false,
    ],
    ['subscription over POST', () => json('subscription { ticketUpdated { uuid } }'), auth, false],
  ];

  const accepts: [string, Record<string, string>][] = [
    ['no Accept', {}],
    ['application/json', { accept: 'application/json' }],
    ['graphql-response+json', { accept: 'application/graphql-response+json' }],
    ['both, json preferred', { accept: 'application/graphql-response+json;q=0.9, application/json' }],
    ['*/*', { accept: '*/*' }],
  ];

  for (const [acceptName, acceptHeaders] of accepts) {
    it.each(cases)(`%s (${acceptName})`, async (_name, body, headers, fastOnly) => {
      const text = body();
      const before = fast.yogaRequests;
      const [a, b] = await Promise.all([
        send(fast.url, text, { ...headers(), ...acceptHeaders }),
        send(slow.url, text, { ...headers(), ...acceptHeaders }),
      ]);
      expect(a).toEqual(b);
      expect(fast.yogaRequests - before).toBe(fastOnly ? 0 : 1);
    });
  }

  it('the answers really differ between cases (the table is not comparing one error)', async () => {
    const ok = await send(fast.url, json(TICKETS), auth());
    const invalid = await send(fast.url, json('{ nope }'), {
      ...auth(),
      accept: 'application/graphql-response+json',
    });
    const parse = await send(fast.url, json('{'), auth());
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).data.tickets.nodes).toHaveLength(3);
    expect(invalid.status).toBe(400);
    expect(invalid.contentType).toBe('application/graphql-response+json; charset=utf-8');
    expect(JSON.parse(invalid.body).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.parse(parse.body).errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('upstream errors: the same code, message and status either way', async () => {
    const answers = await answersUnderTicketsTimeout(shared.sim, [fast.url, slow.url], json(TICKETS), auth());
    expect(answers[0]).toEqual(answers[1]);
    expect(JSON.parse(answers[0]?.body ?? '').errors[0].extensions.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('a body over MAX_BODY_BYTES is a 413 on both', async () => {
    const big = json(`{ __typename } # ${'x'.repeat(5000)}`);
    const [a, b] = await Promise.all([send(fast.url, big, auth()), send(slow.url, big, auth())]);
    expect(a).toEqual(b);
    expect(a.status).toBe(413);
  });

  it('requests that are not plain JSON POSTs go to yoga, with the same answers', async () => {
    const q = encodeURIComponent(TICKETS);
    for (const [url, headers, method] of [
      [`?query=${q}`, auth(), 'GET'],
      ['', { ...auth(), accept: 'text/event-stream' }, 'POST'],
      ['', { ...auth(), origin: 'http://app.example' }, 'POST'],
      ['', { ...auth(), 'content-type': 'application/graphql+json' }, 'POST'],
    ] as [string, Record<string, string>, 'GET' | 'POST'][]) {
      const before = fast.yogaRequests;
      const a = await send(fast.url + url, json(TICKETS), headers, method);
      const b = await send(slow.url + url, json(TICKETS), headers, method);
      expect(fast.yogaRequests - before).toBe(1);
      if (headers.accept === 'text/event-stream') {
        expect(a.status).toBe(b.status);
        expect(a.contentType).toBe(b.contentType);
      } else {
        expect(a).toEqual(b);
      }
    }
  });

  it('a logIn input that leaves out kind (default ACCOUNT) works inline and as a variable', async () => {
    const { accountName, password } = shared.sim.controls.demo.admin;
    const inline = json(
      `mutation { logIn(input: { accountName: "${accountName}", password: "${password}" }) { session { uuid } } }`,
    );
    const viaVariable = json('mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }', {
      i: { accountName, password },
    });
    for (const side of [fast, slow]) {
      for (const body of [inline, viaVariable]) {
        const res = await send(side.url, body);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).data.logIn.session.uuid).toMatch(/^[0-9a-f]{32}$/);
      }
    }
  });

  it('the request log line and metrics are the same on the fast path', async () => {
    fast.logs.length = 0;
    await send(fast.url, json('query Named { tickets(first: 1) { nodes { uuid } } }'), {});
    const line = fast.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request');
    expect(line).toMatchObject({ operation: 'Named', code: 'UNAUTHENTICATED', errors: 1, status: 200 });
    const metrics = await request(fast.url.replace('/graphql', '/metrics'));
    expect(await metrics.body.text()).toMatch(
      /graphql_requests_total\{operation="Named",code="UNAUTHENTICATED"\} 1/,
    );
  });
});

describe('with introspection off', () => {
  let fast: ProbedSide;
  let slow: ProbedSide;
  beforeAll(async () => {
    const env = { GRAPHQL_INTROSPECTION: 'false' };
    [fast, slow] = await Promise.all([
      startSide(shared.sim.url, env, true),
      startSide(shared.sim.url, env, false),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stopSide(fast), stopSide(slow)]);
  });

  it.each([
    ['a near-miss field (no "Did you mean")', '{ tickets(first: 1) { nodes { uuuid } } }'],
    ['a near-miss enum value', '{ tickets(first: 1, where: { statusIn: [PENDIN] }) { nodes { uuid } } }'],
    ['an introspection query', '{ __schema { types { name } } }'],
  ])('%s is refused the same way on both paths', async (_name, query) => {
    const headers = { authorization: `OAuth ${shared.session}` };
    const before = fast.yogaRequests;
    const a = await send(fast.url, json(query), headers);
    const b = await send(slow.url, json(query), headers);
    expect(a).toEqual(b);
    expect(fast.yogaRequests).toBe(before);
    expect(a.body).not.toContain('Did you mean');
    expect(JSON.parse(a.body).errors.length).toBeGreaterThan(0);
  });
});

describe('masked errors', () => {
  let fast: ProbedSide;
  let slow: ProbedSide;
  beforeAll(async () => {
    const client = throwingClient();
    [fast, slow] = await Promise.all([
      startSide('http://zstack.invalid/zstack', {}, true, client),
      startSide('http://zstack.invalid/zstack', {}, false, client),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stopSide(fast), stopSide(slow)]);
  });

  it.each([['application/json'], ['application/graphql-response+json']])(
    'an unexpected error is masked and logged the same way (%s)',
    async (accept) => {
      const body = json('{ tickets(first: 1) { nodes { uuid } } }');
      const headers = { authorization: `OAuth ${'d'.repeat(32)}`, accept };
      const a = await send(fast.url, body, headers);
      const b = await send(slow.url, body, headers);
      expect(a).toEqual(b);
      expect(a.body).not.toContain('boom');
      expect(JSON.parse(a.body).errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      const logged = (side: ProbedSide) =>
        side.logs.filter((l) => l.includes('unexpected error, masked')).length;
      expect(logged(fast)).toBe(logged(slow));
      expect(logged(fast)).toBeGreaterThan(0);
      expect(fast.yogaRequests).toBe(0);
    },
  );
});

describe('a plugin failing after execution', () => {
  let fast: ProbedSide;
  beforeAll(async () => {
    const failing: Plugin = {
      onExecutionResult() {
        throw new Error('plugin bug');
      },
    };
    fast = await startSide(shared.sim.url, {}, true, undefined, [failing]);
  });
  afterAll(() => stopSide(fast));

  it('never runs the operation a second time on yoga: it answers masked itself', async () => {
    const res = await send(fast.url, json('{ tickets(first: 1) { nodes { uuid } } }'), {
      authorization: `OAuth ${shared.session}`,
    });
    expect(fast.signals).toHaveLength(1);
    expect(fast.yogaRequests).toBe(0);
    expect(res.body).not.toContain('plugin bug');
    expect(JSON.parse(res.body).errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });
});

describe('a caller that goes away', () => {
  let fast: ProbedSide;
  beforeAll(async () => {
    fast = await startSide(shared.sim.url, {}, true);
  });
  afterAll(() => stopSide(fast));

  it('aborts the operation signal on the fast path', async () => {
    shared.sim.controls.clearFaults();
    shared.sim.controls.injectFault({ fault: { kind: 'latency', ms: 3000 }, path: '/v1/tickets' });
    const controller = new AbortController();
    const call = request(fast.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${shared.session}` },
      body: json('{ tickets(first: 1) { nodes { uuid } } }'),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(() => fast.signals.length > 0, 'the operation to start');
    const signal = fast.signals[0];
    expect(signal?.aborted).toBe(false);
    controller.abort();
    await call;
    await waitFor(() => signal?.aborted === true, 'the operation signal to abort');
    expect(fast.yogaRequests).toBe(0);
    shared.sim.controls.clearFaults();
  });
});
