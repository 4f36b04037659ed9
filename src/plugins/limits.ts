import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';

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
  const plugins: Plugin[] = [
    {
      onParse({ setParseFn }) {
        setParseFn((source, options) =>
          new MaxTokensParserWLexer(source, { ...options, ...tokenOptions }).parseDocument(),
        );
        return ({ result }) => {
          if (result instanceof GraphQLError) withCode(result, ErrorCode.GRAPHQL_PARSE_FAILED);
        };
      },
      onValidate({ addValidationRule }) {
        for (const rule of rules) addValidationRule(rule);
        return ({ result }) => {
          for (const error of result) withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED);
        };
      },
    },
  ];
  if (!config.introspection) {
    plugins.push({
      onValidate:
        () =>
        ({ result }) =>
          hideSuggestions(result),
      onExecute: () => ({
        onExecuteDone({ result }) {
          if (!(Symbol.asyncIterator in result)) hideSuggestions(result.errors);
        },
      }),
    });
  }
  return plugins;
}
