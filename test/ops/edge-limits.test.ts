import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type OpsHarness, startOps } from './support.js';

function codes(res: { body: { errors?: { extensions?: Record<string, unknown> }[] } }): unknown[] {
  return (res.body.errors ?? []).map((e) => e.extensions?.code);
}

/** The introspection query GraphiQL and graphql-codegen send, with every option they may turn on. */
const FULL_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});
const FRAGMENTS = FULL_INTROSPECTION.slice(FULL_INTROSPECTION.indexOf('fragment FullType'));

/** `levels` nested objects: { a: { a: ... { a: 1 } } }, built without recursion. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { uuid } } }`;

describe('edge limits on the served app (defaults)', () => {
  let h: OpsHarness;
  let session: string;
  beforeAll(async () => {
    h = await startOps();
    session = await h.adminSession();
  });
  afterAll(() => h.close());

  it('answers the full introspection query that GraphiQL and graphql-codegen send', async () => {
    const res = await h.gql(FULL_INTROSPECTION);
    expect(res.body.errors).toBeUndefined();
    const client = buildClientSchema(res.body.data as unknown as IntrospectionQuery);
    expect(client.getQueryType()?.getFields().tickets).toBeDefined();
  });

  it('refuses a 600-level ofType chain with DEPTH_LIMIT_EXCEEDED', async () => {
    let inner = 'name';
    for (let i = 0; i < 600; i++) inner = `ofType { ${inner} }`;
    const res = await h.gql(`{ __schema { types { ${inner} } } }`);
    expect(codes(res)[0]).toBe(ErrorCode.DEPTH_LIMIT_EXCEEDED);
    // Nested past what any document within the depth limits needs: refused before it is parsed.
    expect(res.body.errors?.[0]?.message).toBe('Document nesting limit of 98 exceeded.');
    expect(res.body.data).toBeUndefined();
  });

  it('refuses 50 aliases of __schema { types { ...FullType } } with COST_LIMIT_EXCEEDED', async () => {
    const bomb = `{ ${Array.from({ length: 50 }, (_, i) => `s${i}: __schema { types { ...FullType } }`).join(' ')} } ${FRAGMENTS}`;
    const res = await h.gql(bomb);
    // graphql-armor's cost and the introspection's size both refuse it.
    expect(new Set(codes(res))).toEqual(new Set([ErrorCode.COST_LIMIT_EXCEEDED]));
    expect(res.text.length).toBeLessThan(1000);
  });

  it('prices introspection by its size in this schema: the standard queries pass, two or more copies are COST_LIMIT_EXCEEDED', async () => {
    // graphql-codegen's and GraphiQL's (v2+) introspection queries, and the full one.
    for (const query of [
      FULL_INTROSPECTION,
      getIntrospectionQuery({ descriptions: true }),
      getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }),
      `{ __schema { types { ...FullType } } } ${FRAGMENTS}`,
    ]) {
      const res = await h.gql(query);
      expect(res.body.errors).toBeUndefined();
    }
    const copies = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `s${i}: __schema { types { ...FullType } }`).join(' ')} } ${FRAGMENTS}`;
    const twice = `{ __schema { types { ...FullType ...Again } } } ${FRAGMENTS} ${FRAGMENTS.replace(/fragment FullType on __Type \{/, 'fragment Again on __Type {').replace(/fragment (InputValue|TypeRef) on \w+ \{[\s\S]*/, '')}`;
    for (const query of [copies(2), copies(4), twice]) {
      const res = await h.gql(query);
      expect(codes(res)).toEqual([ErrorCode.COST_LIMIT_EXCEEDED]);
      expect(res.body.errors?.[0]?.message).toMatch(
        /^Introspection limit of 8000 values exceeded, found \d+\.$/,
      );
      expect(res.text.length).toBeLessThan(1000);
    }
    // A lookup counts its type's lists as long as the schema's longest.
    const lookups = `{ ${Array.from({ length: 48 }, (_, i) => `t${i}: __type(name: "Query") { fields { name description type { name kind ofType { name kind ofType { name kind } } } args { name description type { name kind } } } }`).join(' ')} }`;
    expect(codes(await h.gql(lookups))).toEqual([ErrorCode.COST_LIMIT_EXCEEDED]);
  });

  it('refuses fields merged past GRAPHQL_MAX_FIELD_REPEATS before graphql-js compares every pair of them', async () => {
    const merged = `{ ${`__schema { ${'types { name } '.repeat(20)} } `.repeat(20)} }`;
    const res = await h.gql(merged);
    expect(codes(res)).toEqual([ErrorCode.COST_LIMIT_EXCEEDED]);
    expect(res.body.errors?.[0]?.message).toBe(
      'Field repeat limit of 100 fields merged into one answer field exceeded, found 400 at __schema.types.',
    );
    // Fragments merge too; 100 fields of one name pass.
    const fragments = Array.from({ length: 101 }, (_, i) => `fragment A${i} on __Schema { types { name } }`);
    const spreads = (n: number) => Array.from({ length: n }, (_, i) => `...A${i}`).join(' ');
    expect(codes(await h.gql(`{ __schema { ${spreads(101)} } } ${fragments.join(' ')}`))).toEqual([
      ErrorCode.COST_LIMIT_EXCEEDED,
    ]);
    const within = await h.gql(`{ __schema { ${spreads(100)} } } ${fragments.slice(0, 100).join(' ')}`);
    expect(within.body.errors).toBeUndefined();
  });

  it("counts a variable's default when the request leaves it out: refused by cost, before any upstream call", async () => {
    const query = `query Dodge($n: Int = 500) { ${Array.from({ length: 50 }, (_, i) => `t${i}: tickets(first: $n) { nodes { ...F } }`).join(' ')} }
      fragment F on Ticket { uuid name status request { apiName apiBody } history { toStatus comment } }`;
    h.simulator.controls.clearRequests();
    const res = await h.gql(query, undefined, { session });
    expect(codes(res)).toEqual([ErrorCode.COST_LIMIT_EXCEEDED]);
    expect(h.simulator.controls.requests).toHaveLength(0);
    // A value sent overrides the default.
    const small = await h.gql(query, { n: 1 }, { session });
    expect(small.body.errors).toBeUndefined();
  });

  it('refuses a 32,000-level list literal on a fresh gateway with a code, before the parser recurses', async () => {
    const fresh = await startOps();
    try {
      const deep = `{ __type(name: ${'['.repeat(32_000)}"x"${']'.repeat(32_000)}) { name } }`;
      for (let i = 0; i < 2; i++) {
        const res = await fresh.gql(deep);
        expect(codes(res)).toEqual([ErrorCode.DEPTH_LIMIT_EXCEEDED]);
        expect(res.body.errors?.[0]?.message).toBe('Document nesting limit of 98 exceeded.');
      }
      // Within the nesting limit, the parser and validation answer as ever.
      const shallow = await fresh.gql(`{ __type(name: ${'['.repeat(90)}"x"${']'.repeat(90)}) { name } }`);
      expect(codes(shallow)).toEqual([ErrorCode.GRAPHQL_VALIDATION_FAILED]);
      expect(fresh.logs.join('\n')).not.toContain('masked from the caller');
    } finally {
      await fresh.close();
    }
  });

  it('answers an apiBody nested 3,000 levels deep in ZStack with a coded field error, the rest of the ticket intact', async () => {
    const [ticket] = h.simulator.controls.listTickets() as { uuid: string; request: unknown }[];
    if (!ticket) throw new Error('no ticket');
    onTestFinished(() => h.simulator.controls.setTicketField(ticket.uuid, 'request', ticket.request));
    h.simulator.controls.setTicketField(ticket.uuid, 'request', [
      { apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg', apiBody: nested(3000) },
    ]);
    const query = `{ ticket(uuid: "${ticket.uuid}") { uuid request { apiName apiBody } } }`;
    // Twice: the second run is graphql-jit's compiled one.
    for (let i = 0; i < 2; i++) {
      const res = await h.gql(query, {}, { session });
      expect(res.body.errors).toMatchObject([
        {
          message: 'JSON nested deeper than 1000 levels.',
          path: ['ticket', 'request', 0, 'apiBody'],
          extensions: { code: ErrorCode.UPSTREAM_ERROR },
        },
      ]);
      expect(res.body.data).toEqual({
        ticket: {
          uuid: ticket.uuid,
          request: [{ apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg', apiBody: null }],
        },
      });
    }
  });

  it('refuses 50 aliases of tickets(first: $n) with n = 500 by cost, before any upstream call', async () => {
    const query = `query Dodge($n: Int!) { ${Array.from({ length: 50 }, (_, i) => `t${i}: tickets(first: $n) { nodes { ...F } }`).join(' ')} }
      fragment F on Ticket { uuid name status request { apiName apiBody } history { toStatus comment } }`;
    h.simulator.controls.clearRequests();
    const res = await h.gql(query, { n: 500 }, { session });
    expect(codes(res)).toEqual([ErrorCode.COST_LIMIT_EXCEEDED]);
    expect(res.body.errors?.[0]?.message).toMatch(/^Query Cost limit of 500000 exceeded, found \d+/);
    expect(h.simulator.controls.requests).toHaveLength(0);
    // The same document with a small page is an ordinary screen.
    const small = await h.gql(query, { n: 1 }, { session });
    expect(small.body.errors).toBeUndefined();
  });

  it('counts comments toward the document size: over 64 KiB is DOCUMENT_SIZE_LIMIT_EXCEEDED', async () => {
    h.simulator.controls.clearRequests();
    const res = await h.gql(`#${'x'.repeat(70 * 1024)}\n{ session { uuid } }`, {}, { session });
    expect(codes(res)).toEqual([ErrorCode.DOCUMENT_SIZE_LIMIT_EXCEEDED]);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('refuses an apiBody nested 4,000 levels deep with BAD_USER_INPUT before any upstream call', async () => {
    const { projectUuid, submitters } = h.simulator.controls.demo;
    const input = (apiBody: unknown) => ({
      name: 'deep',
      requests: [{ apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg', apiBody }],
      accountSystemType: 'iam2',
      accountSystemContext: { projectUuid, virtualIDUuid: submitters[0]?.uuid },
    });
    h.simulator.controls.clearRequests();
    const deep = await h.gql(CREATE, { input: input(nested(4000)) }, { session });
    expect(codes(deep)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(deep.body.errors?.[0]?.message).toBe('$input is nested deeper than 64 levels.');
    const big = await h.gql(CREATE, { input: input({ userData: 'x'.repeat(300 * 1024) }) }, { session });
    expect(codes(big)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(big.body.errors?.[0]?.message).toBe('$input is larger than 262144 bytes.');
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('refuses deeply nested JSON literals too (the document has no variables to check)', async () => {
    let literal = '1';
    for (let i = 0; i < 70; i++) literal = `{ a: ${literal} }`;
    h.simulator.controls.clearRequests();
    const res = await h.gql(
      `mutation { createTicket(input: { name: "x", requests: [{ apiName: "a", apiBody: ${literal} }],
        accountSystemType: "iam2", accountSystemContext: {} }) { ticket { uuid } } }`,
      {},
      { session },
    );
    expect(codes(res)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('serves GraphiQL by default outside production', async () => {
    const res = await request(h.url, { headers: { accept: 'text/html' } });
    expect(await res.body.text()).toContain('<title>ZStack GraphQL</title>');
  });

  it('labels metrics only with operations that parsed and validated, so junk never crowds out real names', async () => {
    for (let i = 0; i < 250; i++) {
      const res = await request(h.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: `query Junk${i} {`, operationName: `Junk${i}` }),
      });
      await res.body.text();
    }
    const real = await h.gql('query RealScreen { __typename }');
    expect(real.body.errors).toBeUndefined();
    const metrics = await (await request(`${h.base}/metrics`)).body.text();
    expect(metrics).toMatch(/graphql_requests_total\{operation="RealScreen",code="OK"\} 1/);
    expect(metrics).not.toContain('Junk');
    expect(metrics).not.toMatch(/operation="__other"/);
  });

  it('valid anonymous operations never take the named slots of operations run with a session ZStack accepted', async () => {
    const post = async (query: string, authorization?: string) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (authorization) headers.authorization = authorization;
      const res = await request(h.url, { method: 'POST', headers, body: JSON.stringify({ query }) });
      const body = JSON.parse(await res.body.text()) as { errors?: unknown };
      expect(body.errors).toBeUndefined();
    };
    // The flood of the issue: valid, anonymous; half of it with a made-up session.
    for (let i = 0; i < 210; i++)
      await post(`query Flood${i} { __typename }`, i % 2 ? `OAuth ${'f'.repeat(32)}` : undefined);
    // A made-up session reaching ZStack through a route that answers 2xx for anyone proves nothing.
    for (let i = 0; i < 5; i++) await post(`query Probe${i} { session { uuid } }`, `OAuth ${'f'.repeat(32)}`);
    await post('query TicketScreen { tickets(first: 1) { totalCount } }', `OAuth ${session}`);
    // Once ZStack accepted the session, its operations that call nothing upstream are named too.
    await post('query LocalScreen { __typename }', `OAuth ${session}`);
    const metrics = await (await request(`${h.base}/metrics`)).body.text();
    expect(metrics).toMatch(/graphql_requests_total\{operation="TicketScreen",code="OK"\} 1/);
    expect(metrics).toMatch(/graphql_requests_total\{operation="LocalScreen",code="OK"\} 1/);
    expect(metrics).toMatch(/graphql_requests_total\{operation="__anonymous_other",code="OK"\} \d+/);
    const named = new Set(
      [...metrics.matchAll(/graphql_requests_total\{operation="((?:Flood|Probe|Junk|Real)\w*)"/g)].map(
        (m) => m[1],
      ),
    );
    expect(named.size).toBeLessThanOrEqual(20);
    expect(metrics).not.toMatch(/operation="__other"/);
  });
});

describe('edge limits configured by env', () => {
  let h: OpsHarness;
  let session: string;
  beforeAll(async () => {
    h = await startOps({
      env: {
        MAX_ROWS_PER_OPERATION: '60',
        GRAPHIQL: 'false',
        JSON_MAX_DEPTH: '3',
        GRAPHQL_MAX_DOCUMENT_BYTES: String(1024 * 1024),
        MAX_BODY_BYTES: String(2 * 1024 * 1024),
        GRAPHQL_PARSE_CACHE_MAX_BYTES: String(2 * 1024 * 1024),
        GRAPHQL_JIT_CACHE_MAX_BYTES: String(4 * 1024 * 1024),
        GRAPHQL_CACHE_MAX_DOCUMENT_BYTES: String(16 * 1024),
      },
    });
    session = await h.adminSession();
  });
  afterAll(() => h.close());

  it('refuses the page that would pass MAX_ROWS_PER_OPERATION with ROW_LIMIT_EXCEEDED, without fetching it', async () => {
    h.simulator.controls.clearRequests();
    const res = await h.gql(
      '{ a: tickets(first: 40) { nodes { uuid } } b: tickets(first: 40) { nodes { uuid } } }',
      {},
      { session },
    );
    expect(codes(res)).toEqual([ErrorCode.ROW_LIMIT_EXCEEDED]);
    const ticketQueries = h.simulator.controls.requests.filter((r) => r.path.endsWith('/tickets'));
    expect(ticketQueries).toHaveLength(1);
    expect([['a'], ['b']]).toContainEqual(res.body.errors?.[0]?.path);
    // Each operation has its own budget.
    const next = await h.gql('{ tickets(first: 40) { nodes { uuid } } }', {}, { session });
    expect(next.body.errors).toBeUndefined();
  });

  it('applies JSON_MAX_DEPTH', async () => {
    h.simulator.controls.clearRequests();
    const res = await h.gql(CREATE, {
      input: { name: 'x', requests: [{ apiName: 'a', apiBody: nested(2) }] },
    });
    expect(codes(res)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('does not serve GraphiQL with GRAPHIQL=false', async () => {
    const res = await request(h.url, { headers: { accept: 'text/html' } });
    expect(await res.body.text()).not.toContain('<title>ZStack GraphQL</title>');
  });

  it('keeps the parse and jit caches within their byte budgets and never caches large documents', async () => {
    const { documents, jit } = h.gateway.caches;
    // Distinct documents of about 10 KiB (cacheable) fill both caches past their budgets.
    const fields = Array.from({ length: 40 }, (_, i) => `f${i}: __typename`).join(' ');
    for (let i = 0; i < 150; i++) {
      const res = await h.gql(`# ${'y'.repeat(10_000)}\nquery D${i} { ${fields} }`);
      expect(res.body.errors).toBeUndefined();
      expect(documents.bytes).toBeLessThanOrEqual(documents.maxBytes);
      expect(jit?.bytes ?? 0).toBeLessThanOrEqual(jit?.maxBytes ?? 0);
    }
    expect(documents.size).toBeGreaterThan(0);
    expect(documents.size).toBeLessThan(150);
    // Documents of 1 MiB (a comment is no token) are answered and never cached.
    const before = { documents: documents.size, jit: jit?.size };
    for (let i = 0; i < 40; i++) {
      const res = await h.gql(`# ${i} ${'z'.repeat(1000 * 1000)}\n{ __typename }`);
      expect(res.body.data).toEqual({ __typename: 'Query' });
    }
    expect(documents.size).toBeLessThanOrEqual(before.documents);
    expect(jit?.size).toBeLessThanOrEqual(before.jit ?? 0);
    expect(process.memoryUsage().rss).toBeLessThan(512 * 1024 * 1024);
  }, 60_000);
});
