import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Lexer,
  type ParseOptions,
  Source,
  TokenKind,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config/index.js';
import { codeRequestErrors, ErrorCode } from '../errors.js';
import { cachedOperationCost } from './cost.js';
import { maxMergedFields } from './field-repeats.js';
import { checkInputValues } from './input-limits.js';
import { introspectionRefusal } from './introspection-cost.js';

/** What an onValidate hook may return: called with the validation's result. */
type AfterValidate = Exclude<ReturnType<NonNullable<Plugin['onValidate']>>, void>;

export type LimitConfig = Pick<
  Config,
  | 'maxDepth'
  | 'maxAliases'
  | 'maxTokens'
  | 'maxCost'
  | 'maxIntrospectionValues'
  | 'maxFieldRepeats'
  | 'introspection'
  | 'maxDocumentBytes'
  | 'jsonMaxDepth'
  | 'jsonMaxBytes'
>;

/** armor prefixes every refusal with "Syntax Error: ", which misleads for a valid but too big document. */
function armorMessage(err: GraphQLError): string {
  return err.message.replace(/^Syntax Error: /, '');
}

/** armor's rules throw by default, which aborts validation; report a coded error instead. */
function reportAs(code: ErrorCode) {
  return [
    (ctx: ValidationContext | null, err: GraphQLError) => {
      ctx?.reportError(new GraphQLError(armorMessage(err), { extensions: { code } }));
    },
  ];
}

/** Gives a parse or validation error its code unless a limit already did (every refusal is coded). */
function withCode(error: GraphQLError, code: ErrorCode): void {
  const extensions = error.extensions as Record<string, unknown>;
  extensions.code ??= code;
}

const SUGGESTION = /\s*Did you mean .*$/s;

/** Without introspection, "Did you mean …" would still reveal the schema piece by piece. */
export function hideSuggestions(errors: readonly Error[] | undefined): void {
  if (!errors) return;
  for (const error of errors) {
    if (error.message.includes('Did you mean')) error.message = error.message.replace(SUGGESTION, '');
  }
}

/** The UTF-8 length of `text` is over `max` (exact only near the limit: a UTF-16 unit is 1 to 3 bytes). */
function longerThan(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return Buffer.byteLength(text, 'utf8') > max;
}

/**
 * Deepest nesting of brackets and braces graphql-js's parser is given: it recurses once or more per
 * level, and on a cold process (unoptimized, larger frames) about 2,000 levels of `[` overflow the
 * stack before the token limit is reached.
 */
export const MAX_PARSER_NESTING = 1000;

/** The merged-fields walk stops (and refuses) past this many selections per token allowed. */
const MERGE_VISITS_PER_TOKEN = 50;

/**
 * The nesting a document needs at most: a selection set and an inline fragment per level of
 * GRAPHQL_MAX_DEPTH, a value nested JSON_MAX_DEPTH deep, and an argument list.
 */
export function documentNestingLimit(config: Pick<LimitConfig, 'maxDepth' | 'jsonMaxDepth'>): number {
  return Math.min(MAX_PARSER_NESTING, 2 * config.maxDepth + config.jsonMaxDepth + 4);
}

const OPENING: ReadonlySet<string> = new Set([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING: ReadonlySet<string> = new Set([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Reads the document's tokens with graphql-js's lexer (a loop, no recursion) before the parser
 * runs: more than `maxTokens` tokens is TOKEN_LIMIT_EXCEEDED and brackets nested past `maxNesting`
 * DEPTH_LIMIT_EXCEEDED, so the parser's recursion never sees a document that could overflow the
 * stack. A lexical error is left for the parser to report in its own words.
 */
function scanTokens(source: Source, maxTokens: number, maxNesting: number): GraphQLError | undefined {
  const lexer = new Lexer(source);
  let tokens = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++tokens > maxTokens) {
        return new GraphQLError(`Token limit of ${maxTokens} exceeded.`, {
          extensions: { code: ErrorCode.TOKEN_LIMIT_EXCEEDED },
        });
      }
      if (OPENING.has(token.kind) && ++nesting > maxNesting) {
        return new GraphQLError(`Document nesting limit of ${maxNesting} exceeded.`, {
          extensions: { code: ErrorCode.DEPTH_LIMIT_EXCEEDED },
        });
      }
      if (CLOSING.has(token.kind)) nesting--;
    }
  } catch (err) {
    if (err instanceof GraphQLError) return undefined;
    throw err;
  }
  return undefined;
}

/**
 * The envelop plugins that refuse abusive documents (bytes, tokens, depth, aliases, cost; graphql-armor's
 * counting, introspection included), each with its own `extensions.code`; the cost is counted again
 * with the variables' values before execution, and input values are bounded (JSON_MAX_DEPTH,
 * JSON_MAX_BYTES). With introspection off they also strip field and enum suggestions from errors.
 */
export function createLimitPlugins(config: LimitConfig): Plugin[] {
  const rules = [
    maxDepthRule({
      n: config.maxDepth,
      // Depth is the answer's nesting: a fragment adds no level (the introspection query's
      // TypeRef fragments would otherwise count twice).
      flattenFragments: true,
      // Introspection is an operation like any other: an `ofType` chain or 50 aliases of
      // `__schema` are refused as their counterparts on tickets are.
      ignoreIntrospection: false,
      propagateOnRejection: false,
      onReject: reportAs(ErrorCode.DEPTH_LIMIT_EXCEEDED),
    }),
    maxAliasesRule({
      n: config.maxAliases,
      propagateOnRejection: false,
      onReject: reportAs(ErrorCode.ALIAS_LIMIT_EXCEEDED),
    }),
    costLimitRule({
      maxCost: config.maxCost,
      ignoreIntrospection: false,
      propagateOnRejection: false,
      onReject: reportAs(ErrorCode.COST_LIMIT_EXCEEDED),
    }),
  ];
  const tokenOptions = {
    n: config.maxTokens,
    // The lexer has no validation context to report to: throwing is the only way out of parse.
    onReject: [
      (_ctx: ValidationContext | null, err: GraphQLError) => {
        throw new GraphQLError(armorMessage(err), { extensions: { code: ErrorCode.TOKEN_LIMIT_EXCEEDED } });
      },
    ],
  };
  const executionRefusal = (args: {
    document: DocumentNode;
    operationName?: string | null | undefined;
    variableValues?: Readonly<Record<string, unknown>> | null | undefined;
  }): GraphQLError | undefined =>
    inputRefusal(args.document, args.variableValues, config) ??
    costRefusal(args.document, args.operationName, args.variableValues, config.maxCost);
  const maxNesting = documentNestingLimit(config);
  /**
   * What is refused before graphql-js's rules run, as they would cost more than the refusal saves:
   * fields merged past GRAPHQL_MAX_FIELD_REPEATS (OverlappingFieldsCanBeMerged compares every pair)
   * and introspection past GRAPHQL_MAX_INTROSPECTION_VALUES (armor's weights price
   * `__schema { types { … } }` as one object, whatever the schema's size).
   */
  const refusalBeforeRules = (schema: GraphQLSchema, document: DocumentNode): GraphQLError | undefined => {
    // The parse cache hands back the same document for the same text: its verdict is kept with it.
    const known = verdicts.get(document);
    if (known !== undefined) return known ?? undefined;
    const verdict = checkBeforeRules(schema, document);
    verdicts.set(document, verdict ?? null);
    return verdict;
  };
  const verdicts = new WeakMap<DocumentNode, GraphQLError | null>();
  const checkBeforeRules = (schema: GraphQLSchema, document: DocumentNode): GraphQLError | undefined => {
    const merged = maxMergedFields(document, MERGE_VISITS_PER_TOKEN * config.maxTokens);
    if (merged.truncated || merged.max > config.maxFieldRepeats) {
      const found = merged.truncated ? 'an answer too large to check' : `${merged.max} at ${merged.path}`;
      return new GraphQLError(
        `Field repeat limit of ${config.maxFieldRepeats} fields merged into one answer field exceeded, found ${found}.`,
        { extensions: { code: ErrorCode.COST_LIMIT_EXCEEDED } },
      );
    }
    return introspectionRefusal(
      schema,
      document,
      config.maxIntrospectionValues,
      ErrorCode.COST_LIMIT_EXCEEDED,
    );
  };
  // Every hook and callback is made once here, not per request.
  const parseWithLimits = (source: string | Source, options?: ParseOptions) => {
    // Comments and whitespace are no tokens: the text's size is bounded on its own, before the
    // lexer reads any of it.
    const text = typeof source === 'string' ? source : source.body;
    if (longerThan(text, config.maxDocumentBytes)) {
      throw new GraphQLError(`Document size limit of ${config.maxDocumentBytes} bytes exceeded.`, {
        extensions: { code: ErrorCode.DOCUMENT_SIZE_LIMIT_EXCEEDED },
      });
    }
    const refusal = scanTokens(
      typeof source === 'string' ? new Source(source) : source,
      config.maxTokens,
      maxNesting,
    );
    if (refusal !== undefined) throw refusal;
    return new MaxTokensParserWLexer(source, { ...options, ...tokenOptions }).parseDocument();
  };
  const onParseDone = ({ result }: { result: unknown }) => {
    if (result instanceof GraphQLError) withCode(result, ErrorCode.GRAPHQL_PARSE_FAILED);
  };
  const onValidateDone: AfterValidate = ({ result }) => {
    for (const error of result) withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED);
  };
  // An answer without `data` is a request error (graphql-js refused the variables): coded too.
  const codeRequestErrorsOnExecute = {
    onExecuteDone({ result }: { result: ExecutionResult | AsyncIterable<unknown> }) {
      if (!(Symbol.asyncIterator in result) && !('data' in result)) codeRequestErrors(result.errors);
    },
  };
  const codeRequestErrorsOnSubscribe = {
    onSubscribeResult({ result }: { result: ExecutionResult | AsyncIterable<unknown> }) {
      if (!(Symbol.asyncIterator in result) && !('data' in result)) codeRequestErrors(result.errors);
    },
  };
  const plugins: Plugin[] = [
    {
      onParse({ setParseFn }) {
        setParseFn(parseWithLimits);
        return onParseDone;
      },
      onValidate({ addValidationRule, params, setResult }) {
        const refusal = refusalBeforeRules(params.schema, params.documentAST);
        if (refusal !== undefined) setResult([refusal]);
        else for (const rule of rules) addValidationRule(rule);
        return onValidateDone;
      },
      onExecute({ args, setResultAndStopExecution }) {
        // Variables are known only now: `first: $n` must cost what `first: 500` does, and input
        // values are bounded before any resolver (or upstream call) sees them.
        const refusal = executionRefusal(args);
        if (refusal !== undefined) setResultAndStopExecution({ errors: [refusal] });
        return codeRequestErrorsOnExecute;
      },
      onSubscribe({ args, setResultAndStopExecution }) {
        const refusal = executionRefusal(args);
        if (refusal !== undefined) setResultAndStopExecution({ errors: [refusal] });
        return codeRequestErrorsOnSubscribe;
      },
    },
  ];
  if (!config.introspection) {
    const hideInValidation: AfterValidate = ({ result }) => hideSuggestions(result);
    const hideInExecution = {
      onExecuteDone({ result }: { result: ExecutionResult | AsyncIterable<unknown> }) {
        if (!(Symbol.asyncIterator in result)) hideSuggestions(result.errors);
      },
    };
    plugins.push({
      onValidate: () => hideInValidation,
      onExecute: () => hideInExecution,
    });
  }
  return plugins;
}

/** COST_LIMIT_EXCEEDED when the operation, its variables' values counted, costs more than `maxCost`. */
function costRefusal(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  maxCost: number,
): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined; // execute reports the unknown operation itself
  const cost = cachedOperationCost(document, operation, variables);
  if (cost <= maxCost) return undefined;
  return new GraphQLError(`Query Cost limit of ${maxCost} exceeded, found ${cost}.`, {
    extensions: { code: ErrorCode.COST_LIMIT_EXCEEDED },
  });
}

/** BAD_USER_INPUT when a variable's value or a literal is nested or sized past the JSON limits. */
function inputRefusal(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  config: LimitConfig,
): GraphQLError | undefined {
  return checkInputValues(document, variables, {
    maxDepth: config.jsonMaxDepth,
    maxBytes: config.jsonMaxBytes,
  });
}
