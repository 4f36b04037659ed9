import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpsHarness, startOps } from './support.js';

/** `__type` nests `ofType` as deep as one likes, so depth can be tested with a valid document. */
function deepType(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 2; i++) inner = `ofType { ${inner} }`;
  return `{ __type(name: "Query") { ${inner} } }`;
}

function codes(res: { body: { errors?: { extensions?: Record<string, unknown> }[] } }): unknown[] {
  return (res.body.errors ?? []).map((e) => e.extensions?.code);
}

describe('limits on the real gateway (defaults)', () => {
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps();
  });
  afterAll(() => h.close());

  it('lets a depth-15 document through and refuses depth 16 with DEPTH_LIMIT_EXCEEDED', async () => {
    const ok = await h.gql(deepType(15));
    expect(ok.body.errors).toBeUndefined();
    const deep = await h.gql(deepType(16));
    expect(codes(deep)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
    expect(deep.body.errors?.[0]?.message).toBe('Query depth limit of 15 exceeded, found 16.');
    expect(deep.body.data).toBeUndefined();
  });

  it('lets 50 aliases through and refuses 51 with ALIAS_LIMIT_EXCEEDED, before any upstream call', async () => {
    const doc = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `s${i}: session { uuid }`).join(' ')} }`;
    const ok = await h.gql(doc(50));
    expect(ok.body.errors).toBeUndefined();
    h.simulator.controls.clearRequests();
    const bomb = await h.gql(doc(51), {}, { session: 'a'.repeat(32) });
    expect(codes(bomb)).toEqual(['ALIAS_LIMIT_EXCEEDED']);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('refuses more than 2000 tokens with TOKEN_LIMIT_EXCEEDED', async () => {
    const doc = `{ ${'__typename '.repeat(2100)}}`;
    const res = await h.gql(doc);
    expect(codes(res)).toEqual(['TOKEN_LIMIT_EXCEEDED']);
    expect(res.body.errors?.[0]?.message).toBe('Token limit of 2000 exceeded.');
  });

  it('answers refusals with 400 to graphql-response+json clients, without a stack', async () => {
    const res = await h.gql(deepType(30), {}, { headers: { accept: 'application/graphql-response+json' } });
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(res.text).not.toContain('stack');
  });

  const SCREEN_FIELDS = `uuid name description status accountSystemType ticketTypeUuid currentFlowUuid
    flowCollectionUuid createDate lastOpDate request { requestName apiName executeTimes apiBody }
    accountSystemContext { projectUuid virtualIDUuid json }
    history { uuid fromStatus toStatus comment operatorType operatorUuid flowName sequence createDate }
    ticketType { uuid name description requests createDate }
    flowCollection { uuid name description state flows { uuid name } }`;

  it('lets the real screens through: 20 aliased ticket lookups, and a list of 50 (and 500) with relations', async () => {
    const c = h.simulator.controls;
    c.reset();
    const session = await h.adminSession();
    const uuids = c.listTickets().map((t) => t.uuid as string);
    const lookups = `query Lookups { ${uuids
      .slice(0, 20)
      .map((u, i) => `t${i}: ticket(uuid: "${u}") { ${SCREEN_FIELDS} }`)
      .join('\n')} }`;
    const many = await h.gql(lookups, {}, { session });
    expect(many.body.errors).toBeUndefined();
    expect(Object.keys(many.body.data ?? {})).toHaveLength(20);
    for (const first of [50, 500]) {
      const list = await h.gql(
        `query List { tickets(first: ${first}) { totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { ${SCREEN_FIELDS} } } } }`,
        {},
        { session },
      );
      expect(list.body.errors).toBeUndefined();
      expect((list.body.data?.tickets as { edges: unknown[] } | undefined)?.edges.length).toBeGreaterThan(0);
    }
  });

  it('keeps field suggestions while introspection is on', async () => {
    const res = await h.gql('{ sesion { uuid } }');
    expect(res.body.errors?.[0]?.message).toContain('Did you mean "session"?');
  });
});

describe('limits configured by env', () => {
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps({
      env: {
        GRAPHQL_MAX_DEPTH: '3',
        GRAPHQL_MAX_ALIASES: '2',
        GRAPHQL_MAX_TOKENS: '40',
        GRAPHQL_MAX_COST: '10',
        GRAPHQL_INTROSPECTION: 'false',
      },
    });
  });
  afterAll(() => h.close());

  it('applies each configured limit', async () => {
    expect(codes(await h.gql('{ session { uuid } }'))).toEqual([]);
    expect(codes(await h.gql('{ a: session { uuid } b: session { uuid } c: session { uuid } }'))).toContain(
      'ALIAS_LIMIT_EXCEEDED',
    );
    expect(codes(await h.gql(`{ ${'__typename '.repeat(50)}}`))).toEqual(['TOKEN_LIMIT_EXCEEDED']);
    const costly = await h.gql('{ session { uuid accountUuid userUuid createDate expiredDate uuid uuid } }');
    expect(codes(costly)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(costly.body.errors?.[0]?.message).toMatch(/^Query Cost limit of 10 exceeded, found \d+/);
  });

  it('hides "Did you mean" from validation and variable errors when introspection is off', async () => {
    const field = await h.gql('{ sesion { uuid } }');
    expect(field.body.errors?.[0]?.message).toBe('Cannot query field "sesion" on type "Query".');
    const enumValue = await h.gql(
      'mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { clientMutationId } }',
      { i: { uuid: 'a'.repeat(32), statusEvent: 'APROVE' } },
    );
    expect(enumValue.body.errors?.[0]?.message).toContain('APROVE');
    expect(enumValue.text).not.toContain('Did you mean');
    expect(enumValue.text).not.toContain('"APPROVE"');
    const introspection = await h.gql('{ __schema { types { name } } }');
    expect(introspection.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
