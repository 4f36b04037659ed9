import { envelop, useEngine, useSchema } from '@envelop/core';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import {
  type DocumentNode,
  execute,
  type FragmentDefinitionNode,
  GraphQLError,
  getIntrospectionQuery,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  subscribe,
  type ValidationRule,
  validate,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { cleanErrorCode, ErrorCode, MAX_ERROR_CAUSE_DEPTH } from '../../src/errors.js';
import { createScopePlugin } from '../../src/observability/request-scope.js';
import { cachedOperationCost, operationCost } from '../../src/plugins/cost.js';
import { ByteLru, createDocumentCaches } from '../../src/plugins/document-cache.js';
import { introspectionValues } from '../../src/plugins/introspection-cost.js';
import { canonicalJson } from '../../src/request/canonical-json.js';
import { schema } from '../../src/schema/index.js';
import { jsonFromLiteral, jsonShapeProblem } from '../../src/schema/json-value.js';
import type { ApiErrorCode } from '../../src/zstack/types.js';

/** `levels` nested lists, built without recursion. */
function deepList(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    [{ z: undefined, y: { d: 1, c: 2 } }, '{"y":{"c":2,"d":1}}'],
    [[undefined, 1], '[null,1]'],
    [undefined, 'null'],
    ['a"b', '"a\\"b"'],
    [[], '[]'],
    [{}, '{}'],
  ])('%j → %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('writes a value nested 100,000 levels deep without a RangeError', () => {
    const text = canonicalJson(deepList(100_000));
    expect(text.length).toBe(200_001);
    expect(text.startsWith('[[[')).toBe(true);
  });
});

describe('operationCost', () => {
  const armorCost = (query: string): number => {
    let found = 0;
    validate(schema, parse(query), [
      costLimitRule({
        maxCost: 0,
        ignoreIntrospection: false,
        propagateOnRejection: false,
        onReject: [
          (_ctx: unknown, e: GraphQLError) => {
            found = Number(/found ([\d.e+]+?)\.$/.exec(e.message)?.[1]);
          },
        ],
      }),
    ]);
    return found;
  };
  const ours = (query: string, variables?: Record<string, unknown>) => {
    const document = parse(query);
    const operation = getOperationAST(document);
    if (!operation) throw new Error('no operation');
    return operationCost(document, operation, variables);
  };

  it.each([
    '{ session { uuid } }',
    '{ tickets(first: 500) { edges { node { uuid history { toStatus } } } } }',
    '{ a: tickets(first: 3) { nodes { ...F } } b: tickets(first: 7) { nodes { ...F ... on Ticket { name } } } } fragment F on Ticket { uuid request { apiName } }',
    getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }),
  ])('matches graphql-armor for %s', (query) => {
    expect(ours(query)).toBe(armorCost(query));
  });

  it('counts first: $n as first: <n>', () => {
    const withVariable = 'query($n: Int) { tickets(first: $n) { nodes { uuid name } } }';
    expect(ours(withVariable, { n: 500 })).toBe(armorCost('{ tickets(first: 500) { nodes { uuid name } } }'));
    expect(ours(withVariable, {})).toBe(armorCost('{ tickets { nodes { uuid name } } }'));
  });

  it('counts nodes(ids:) once per id, given inline or as a variable', () => {
    const one = ours('{ nodes(ids: ["a"]) { id ... on Ticket { status } } }');
    const ids = Array.from({ length: 300 }, (_, i) => `"${i}"`);
    expect(ours(`{ nodes(ids: [${ids.join(',')}]) { id ... on Ticket { status } } }`)).toBe(300 * one);
    const withVariable = 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Ticket { status } } }';
    expect(ours(withVariable, { ids: ids.map((id) => JSON.parse(id)) })).toBe(300 * one);
    const document = parse(withVariable);
    const operation = getOperationAST(document) as OperationDefinitionNode;
    expect(cachedOperationCost(document, operation, { ids: ['a'] })).toBe(one);
    expect(cachedOperationCost(document, operation, { ids: ids.map((id) => JSON.parse(id)) })).toBe(
      300 * one,
    );
  });

  it('cachedOperationCost: one document, the same cost as operationCost, variables still counted', () => {
    const fixed = parse('query($u: ID!) { ticket(uuid: $u) { uuid } tickets(first: 20) { nodes { uuid } } }');
    const paged = parse('query($n: Int) { tickets(first: $n) { nodes { uuid name } } }');
    const cost = (document: typeof fixed, variables?: Record<string, unknown>) =>
      cachedOperationCost(document, getOperationAST(document) as OperationDefinitionNode, variables);
    const expected = operationCost(fixed, getOperationAST(fixed) as OperationDefinitionNode, undefined);
    expect(cost(fixed, { u: 'a' })).toBe(expected);
    expect(cost(fixed, { u: 'b' })).toBe(expected);
    expect(cost(paged, { n: 500 })).toBe(
      ours('query($n: Int) { tickets(first: $n) { nodes { uuid name } } }', { n: 500 }),
    );
    expect(cost(paged, { n: 5 })).toBeLessThan(cost(paged, { n: 500 }));
  });
});

describe('introspectionValues', () => {
  const full = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
  });
  const fragments = full.slice(full.indexOf('fragment FullType'));
  const values = (query: string) => {
    const document = parse(query);
    const byName = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) byName.set(d.name.value, d);
    return introspectionValues(schema, getOperationAST(document) as OperationDefinitionNode, byName);
  };
  /** Every field of every object in an answer, list entries included. */
  const answered = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((n: number, v) => n + answered(v), 0);
    if (value === null || typeof value !== 'object') return 0;
    return Object.values(value).reduce((n: number, v) => n + 1 + answered(v), 0);
  };

  it.each([
    full,
    getIntrospectionQuery(),
    '{ __schema { types { name fields { name args { name } } } } }',
    '{ __type(name: "Query") { fields { name type { kind name ofType { kind name ofType { kind name } } } } } }',
    '{ __schema { queryType { name fields { name } } directives { name args { name } } } }',
  ])('bounds the answer from above, and closely for the standard query (%#)', async (query) => {
    const answer = await execute({ schema, document: parse(query) });
    const real = answered(answer.data);
    expect(values(query)).toBeGreaterThanOrEqual(real);
    if (query === full) expect(values(query)).toBeLessThan(1.6 * real);
  });

  it('counts each alias and each spread again, and nothing outside introspection', () => {
    const one = values(`{ __schema { types { ...FullType } } } ${fragments}`);
    expect(
      values(`{ a: __schema { types { ...FullType } } b: __schema { types { ...FullType } } } ${fragments}`),
    ).toBe(2 * one);
    expect(values('{ session { uuid } tickets(first: 500) { nodes { uuid } } }')).toBe(0);
    expect(values('{ __typename }')).toBe(1);
  });

  it('counts a fragment spread 2,000 levels deep in linear time, without recursion', () => {
    let definitions = 'fragment F0 on __Type { name }';
    for (let i = 1; i < 2000; i++) definitions += ` fragment F${i} on __Type { ...F${i - 1} ...F${i - 1} }`;
    expect(values(`{ __type(name: "Query") { ...F1999 } } ${definitions}`)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('masked errors before execution', () => {
  it('reports a parse failure that masking turns into INTERNAL_SERVER_ERROR, to be logged, and not a coded refusal', () => {
    const masked: unknown[] = [];
    const getEnveloped = envelop({
      plugins: [
        useEngine({ parse, validate, execute, subscribe, specifiedRules }),
        useSchema(schema),
        {
          onParse: ({ setParseFn }) =>
            setParseFn((source) => {
              if (String(source) === 'coded')
                throw new GraphQLError('Token limit of 1 exceeded.', {
                  extensions: { code: ErrorCode.TOKEN_LIMIT_EXCEEDED },
                });
              throw new RangeError('Maximum call stack size exceeded');
            }),
        },
        createScopePlugin((error) => masked.push(error)) as never,
      ],
    });
    const e = getEnveloped({});
    expect(() => e.parse('{ __typename }')).toThrow(RangeError);
    expect(masked).toHaveLength(1);
    expect(() => e.parse('coded')).toThrow('Token limit of 1 exceeded.');
    expect(masked).toHaveLength(1);
  });
});

describe('cleanErrorCode', () => {
  it(`keeps ${MAX_ERROR_CAUSE_DEPTH} levels of a 100,000-level cause chain, without recursion`, () => {
    let error: ApiErrorCode = { code: 'SYS.0', details: 'root cause' };
    for (let i = 1; i < 100_000; i++) error = { code: `SYS.${i}`, cause: error, causes: [{ code: 'X' }] };
    let cleaned = cleanErrorCode(error) as { cause?: unknown; code: string };
    let levels = 0;
    while (cleaned.cause !== undefined) {
      cleaned = cleaned.cause as typeof cleaned;
      levels++;
    }
    expect(levels).toBe(MAX_ERROR_CAUSE_DEPTH);
  });

  it('drops undocumented fields at every level', () => {
    const raw = { code: 'A', secret: 1, causes: [{ code: 'B', secret: 2, cause: { code: 'C', secret: 3 } }] };
    expect(cleanErrorCode(raw as unknown as ApiErrorCode)).toEqual({
      code: 'A',
      causes: [{ code: 'B', cause: { code: 'C' } }],
    });
  });
});

describe('JSON values', () => {
  it.each([
    [{ a: { b: 1 } }, 2, 100, undefined],
    [{ a: { b: { c: 1 } } }, 2, 100, { kind: 'depth', limit: 2 }],
    [['x'.repeat(50)], 5, 40, { kind: 'bytes', limit: 40 }],
    [deepList(100_000), 64, 1e9, { kind: 'depth', limit: 64 }],
  ])('jsonShapeProblem(%#)', (value, depth, bytes, problem) => {
    expect(jsonShapeProblem(value, depth, bytes)).toEqual(problem);
  });

  it('reads a literal as deep as the token limit allows (1,000 levels) without recursion', () => {
    let literal = '1';
    for (let i = 0; i < 1000; i++) literal = `[${literal}]`;
    const ast = parse(`{ f(a: ${literal}) }`, { maxTokens: 100_000 });
    const value = (
      ast.definitions[0] as unknown as { selectionSet: { selections: { arguments: { value: unknown }[] }[] } }
    ).selectionSet.selections[0]?.arguments[0]?.value;
    expect(canonicalJson(jsonFromLiteral(value as never, {}))).toBe(canonicalJson(deepList(1000)));
  });
});

describe('ByteLru', () => {
  it('evicts the least recently used to stay within its bytes, and skips an entry larger than the budget', () => {
    const lru = new ByteLru<string, string>(10, (_k, v) => v.length);
    lru.set('a', 'aaaa');
    lru.set('b', 'bbbb');
    lru.get('a');
    lru.set('c', 'cccc');
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual(['aaaa', undefined, 'cccc']);
    expect(lru.bytes).toBe(8);
    lru.set('huge', 'x'.repeat(11));
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.bytes).toBe(8);
  });
});

describe('the validation cache', () => {
  /** An envelop pipeline (graphql-js's rules, as yoga's) with a rule that counts its runs, then the cache. */
  function pipeline() {
    let runs = 0;
    const counting: ValidationRule = () => {
      runs++;
      return {};
    };
    const getEnveloped = envelop({
      plugins: [
        useEngine({ parse, validate, execute, subscribe, specifiedRules }),
        useSchema(schema),
        { onValidate: ({ addValidationRule }) => addValidationRule(counting) },
        createDocumentCaches({ maxBytes: 1 << 20, maxDocumentBytes: 1 << 16 }).validation as never,
      ],
    });
    return {
      runs: () => runs,
      validate: (doc: DocumentNode) => {
        const e = getEnveloped();
        return e.validate(e.schema, doc);
      },
    };
  }

  it('validates a parsed document once, and answers its errors again from the cache', () => {
    const p = pipeline();
    const good = parse('{ session { uuid } }');
    const bad = parse('{ session { nope } }');
    expect(p.validate(good)).toEqual([]);
    expect(p.validate(good)).toEqual([]);
    expect(p.runs()).toBe(1);
    const first: readonly GraphQLError[] = p.validate(bad);
    expect(first.map((e) => e.message)).toEqual([expect.stringContaining('nope')]);
    expect(p.validate(bad)).toEqual(first);
    expect(p.runs()).toBe(2);
    // Another parse of the same text is another document (the parse cache hands out one per text).
    p.validate(parse('{ session { uuid } }'));
    expect(p.runs()).toBe(3);
  });
});
