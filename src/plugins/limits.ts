import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  type ExecutionResult,
  GraphQLError,
  type ParseOptions,
  type Source,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';

/** What an onValidate hook may return: called with the validation's result. */
type AfterValidate = Exclude<ReturnType<NonNullable<Plugin['onValidate']>>, void>;

export type LimitConfig = Pick<Config, 'maxDepth' | 'maxAliases' | 'maxTokens' | 'maxCost' | 'introspection'>;

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

/**
 * The envelop plugins that refuse abusive documents (depth, aliases, tokens, cost; graphql-armor's
 * counting), each with its own `extensions.code`; with introspection off they also strip field and
 * enum suggestions from errors.
 */
export function createLimitPlugins(config: LimitConfig): Plugin[] {
  const rules = [
    maxDepthRule({
      n: config.maxDepth,
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
  // Every hook and callback is made once here, not per request.
  const parseWithTokenLimit = (source: string | Source, options?: ParseOptions) =>
    new MaxTokensParserWLexer(source, { ...options, ...tokenOptions }).parseDocument();
  const onParseDone = ({ result }: { result: unknown }) => {
    if (result instanceof GraphQLError) withCode(result, ErrorCode.GRAPHQL_PARSE_FAILED);
  };
  const onValidateDone: AfterValidate = ({ result }) => {
    for (const error of result) withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED);
  };
  const plugins: Plugin[] = [
    {
      onParse({ setParseFn }) {
        setParseFn(parseWithTokenLimit);
        return onParseDone;
      },
      onValidate({ addValidationRule }) {
        for (const rule of rules) addValidationRule(rule);
        return onValidateDone;
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
