import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { buildSchema, GraphQLEnumType } from 'graphql';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeDescriptions, isErrorCode } from '../../src/errors.js';
import { schema } from '../../src/schema/index.js';
import { type Served, startGateway } from '../helpers/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const codes = Object.keys(ErrorCode).sort();

describe('enum ErrorCode', () => {
  it('is the list in src/errors.ts, every value described by it', () => {
    const type = schema.getType('ErrorCode');
    expect(type).toBeInstanceOf(GraphQLEnumType);
    const values = (type as GraphQLEnumType).getValues();
    expect(values.map((v) => v.name).sort()).toEqual(codes);
    for (const value of values) {
      expect(value.value).toBe(value.name);
      expect(value.description).toBe(errorCodeDescriptions[value.name as ErrorCode]);
      expect(value.description?.length).toBeGreaterThan(20);
    }
  });

  it('is in the committed schema.graphql, so codegen emits it', () => {
    const printed = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
    const type = printed.getType('ErrorCode') as GraphQLEnumType;
    expect(
      type
        .getValues()
        .map((v) => v.name)
        .sort(),
    ).toEqual(codes);
  });

  it("is exactly what docs/errors.md's one table lists, each code in one row", () => {
    const page = readFileSync(join(root, 'docs/errors.md'), 'utf8');
    // The table is the page's first section; the sections after it (partial results) list no codes.
    const section = page.slice(0, page.indexOf('\n## '));
    const listed: string[] = [];
    for (const line of section.split('\n')) {
      const first = /^\| ([^|]+) \|/.exec(line)?.[1];
      for (const m of first?.matchAll(/`([A-Z_]+)`/g) ?? []) listed.push(m[1] as string);
    }
    expect([...listed].sort()).toEqual(codes);
  });

  it('is what src/ uses: no code is written as a string literal outside the list', () => {
    const literals: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        // The simulator and the upstream client speak ZStack's codes (SYS.1003), not ours.
        if (entry.isDirectory()) {
          if (entry.name !== 'simulator' && entry.name !== 'zstack') walk(path);
        } else if (entry.name.endsWith('.ts') && entry.name !== 'errors.ts') {
          for (const m of readFileSync(path, 'utf8').matchAll(/\bcode: '([A-Z][A-Z_]+)'/g))
            literals.push(`${path.slice(root.length)}: ${m[1]}`);
        }
      }
    };
    walk(join(root, 'src'));
    expect(literals).toEqual([]);
  });
});

describe('every code the HTTP layer and yoga send is an ErrorCode (MAX_BODY_BYTES=2000 here)', () => {
  let g: Served;
  beforeAll(async () => {
    g = await startGateway({ env: { MAX_BODY_BYTES: '2000' } });
  });
  afterAll(async () => {
    await g.close();
  });

  const JSON_ = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const query = (q: string, more: Record<string, unknown> = {}) => JSON.stringify({ query: q, ...more });
  const ticket = 'query($u: ID!) { ticket(uuid: $u) { uuid } }';
  const cases: {
    name: string;
    method?: 'GET' | 'PUT';
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    code: ErrorCode;
  }[] = [
    { name: 'a body that is not JSON', body: '{', code: ErrorCode.BAD_REQUEST },
    { name: 'a batch', body: `[${query('{ __typename }')}]`, code: ErrorCode.BAD_REQUEST },
    { name: 'no query', body: '{}', code: ErrorCode.BAD_REQUEST },
    {
      name: 'variables not a map',
      body: query('{ __typename }', { variables: 'x' }),
      code: ErrorCode.BAD_REQUEST,
    },
    {
      name: 'a POST that is not JSON',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
      code: ErrorCode.BAD_REQUEST,
    },
    {
      name: 'a mutation over GET',
      method: 'GET',
      path: '/graphql?query=mutation%7BlogOut%7BclientMutationId%7D%7D',
      headers: { accept: 'application/json' },
      code: ErrorCode.BAD_REQUEST,
    },
    { name: 'PUT', method: 'PUT', body: query('{ __typename }'), code: ErrorCode.BAD_REQUEST },
    {
      name: 'an Accept of nothing served',
      headers: { 'content-type': 'application/json', accept: 'application/xml' },
      body: query('{ __typename }'),
      code: ErrorCode.NOT_ACCEPTABLE,
    },
    {
      name: 'an unknown operationName',
      body: query('query A { __typename } query B { __typename }', { operationName: 'C' }),
      code: ErrorCode.OPERATION_RESOLUTION_FAILURE,
    },
    { name: 'a syntax error', body: query('{'), code: ErrorCode.GRAPHQL_PARSE_FAILED },
    { name: 'an unknown field', body: query('{ nope }'), code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
    {
      name: "a variable's value of the wrong type",
      body: query(ticket, { variables: { u: { a: 1 } } }),
      code: ErrorCode.BAD_USER_INPUT,
    },
    { name: 'a required variable not sent', body: query(ticket), code: ErrorCode.BAD_USER_INPUT },
    {
      name: 'the same over GET (yoga)',
      method: 'GET',
      path: `/graphql?query=${encodeURIComponent(ticket)}`,
      headers: { accept: 'application/json' },
      code: ErrorCode.BAD_USER_INPUT,
    },
    {
      name: 'a declared body over the limit',
      body: query(`{ __typename } #${'x'.repeat(3000)}`),
      code: ErrorCode.PAYLOAD_TOO_LARGE,
    },
    { name: 'a path that is not /graphql', method: 'GET', path: '/graphql/', code: ErrorCode.NOT_FOUND },
    {
      name: 'no session',
      body: query('{ tickets(first: 1) { totalCount } }'),
      code: ErrorCode.UNAUTHENTICATED,
    },
  ];

  it.each(cases)('$name: $code', async ({ method, path, headers, body, code }) => {
    g.simulator.controls.clearRequests();
    const res = await request(`${g.base}${path ?? '/graphql'}`, {
      method: method ?? 'POST',
      headers: headers ?? JSON_,
      body,
    });
    const errors = (JSON.parse(await res.body.text()) as { errors: { extensions?: { code?: unknown } }[] })
      .errors;
    expect(errors.map((e) => e.extensions?.code)).toEqual([code]);
    expect(g.simulator.controls.requests).toHaveLength(0);
  });

  it("PAYLOAD_TOO_LARGE, not yoga's own code, for a streamed body yoga reads (a subscription's POST)", async () => {
    async function* chunks() {
      for (let i = 0; i < 5; i++) yield Buffer.from(' '.repeat(1000));
    }
    const res = await request(g.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: Readable.from(chunks()),
    });
    expect(res.statusCode).toBe(413);
    const events = (await res.body.text()).split('\n').filter((l) => l.startsWith('data: {'));
    const sent = events.flatMap(
      (l) => (JSON.parse(l.slice(6)) as { errors: { extensions: { code: unknown } }[] }).errors,
    );
    expect(sent.map((e) => e.extensions.code)).toEqual([ErrorCode.PAYLOAD_TOO_LARGE]);
    expect(sent.every((e) => isErrorCode(e.extensions.code))).toBe(true);
  });
});
