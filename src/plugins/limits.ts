import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';

/** The `extensions.code` of each refusal by a limit (documented in the README). */
export const LimitCode = {
  DEPTH_LIMIT_EXCEEDED: 'DEPTH_LIMIT_EXCEEDED',
  ALIAS_LIMIT_EXCEEDED: 'ALIAS_LIMIT_EXCEEDED',
  TOKEN_LIMIT_EXCEEDED: 'TOKEN_LIMIT_EXCEEDED',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  /** HTTP 413, answered before yoga sees the request. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
} as const;
export type LimitCode = (typeof LimitCode)[keyof typeof LimitCode];

export type LimitConfig = Pick<Config, 'maxDepth' | 'maxAliases' | 'maxTokens' | 'maxCost' | 'introspection'>;

/** armor prefixes every refusal with "Syntax Error: ", which misleads for a valid but too big document. */
function armorMessage(err: GraphQLError): string {
  return err.message.replace(/^Syntax Error: /, '');
}

/** armor's rules throw by default, which aborts validation; report a coded error instead. */
function reportAs(code: LimitCode) {
  return [
    (ctx: ValidationContext | null, err: GraphQLError) => {
      ctx?.reportError(new GraphQLError(armorMessage(err), { extensions: { code } }));
    },
  ];
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
 * yoga JSON.parses `variables`/`extensions` of GET and form requests unguarded, so a malformed value
 * would surface as a masked INTERNAL_SERVER_ERROR; it is the caller's mistake: 400 BAD_REQUEST.
 */
type RequestParser = NonNullable<Parameters<NonNullable<Plugin['onRequestParse']>>[0]['requestParser']>;

function guardParser(parser: RequestParser): RequestParser {
  return async (request) => {
    try {
      return await parser(request);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw createGraphQLError('The request parameters (variables or extensions) are not valid JSON.', {
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      });
    }
  };
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
      onReject: reportAs(LimitCode.DEPTH_LIMIT_EXCEEDED),
    }),
    maxAliasesRule({
      n: config.maxAliases,
      propagateOnRejection: false,
      onReject: reportAs(LimitCode.ALIAS_LIMIT_EXCEEDED),
    }),
    costLimitRule({
      maxCost: config.maxCost,
      propagateOnRejection: false,
      onReject: reportAs(LimitCode.COST_LIMIT_EXCEEDED),
    }),
  ];
  const tokenOptions = {
    n: config.maxTokens,
    // The lexer has no validation context to report to: throwing is the only way out of parse.
    onReject: [
      (_ctx: ValidationContext | null, err: GraphQLError) => {
        throw new GraphQLError(armorMessage(err), { extensions: { code: LimitCode.TOKEN_LIMIT_EXCEEDED } });
      },
    ],
  };
  const plugins: Plugin[] = [
    {
      onRequestParse({ requestParser, setRequestParser }) {
        if (requestParser) setRequestParser(guardParser(requestParser));
      },
      onParse({ setParseFn }) {
        setParseFn((source, options) =>
          new MaxTokensParserWLexer(source, { ...options, ...tokenOptions }).parseDocument(),
        );
      },
      onValidate({ addValidationRule }) {
        for (const rule of rules) addValidationRule(rule);
      },
    },
  ];
  if (!config.introspection) {
    plugins.push({
      onValidate:
        () =>
        ({ result }) =>
          hideSuggestions(result),
      onExecutionResult({ result }) {
        if (result && !(Symbol.asyncIterator in result)) hideSuggestions(result.errors);
      },
    });
  }
  return plugins;
}
