import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  getOperationAST,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Prepared operations: a document text that has once gone through yoga's whole pipeline (parse
 * with the token limit, validation with every plugin's rules, then execute) is known to pass it
 * again, because every check on that path depends on the text and the schema alone. The fast path
 * runs such a text straight from this cache: execute (compiled by graphql-jit when it is on), then
 * the same result processing yoga applies (see Gateway.finishResult). Nothing is prepared from a
 * request that carried `extensions` (persisted-operation hashes), so PERSISTED_OPERATIONS_ONLY
 * still refuses every text: a refused text never reaches execute, so it is never recorded.
 */

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

export interface PreparedOperation {
  /** The operation's name for logs and metrics (undefined when anonymous). */
  readonly operationName: string | undefined;
  execute(contextValue: unknown, variableValues: Record<string, unknown> | undefined): ReturnType<Execute>;
}

export interface PreparedOperations {
  /** Records what yoga executes for a request the fast path marked with `prepareKey`. */
  readonly plugin: Plugin;
  /** The prepared operation for a document text and operation name, if there is one. */
  get(key: string): PreparedOperation | undefined;
}

/** Where the fast path puts a request's cache key on yoga's server context. */
export const PREPARE_KEY = Symbol('prepareKey');

/**
 * The cache key of a document text and operation name, or undefined for a text holding U+0000
 * (never valid GraphQL, so never prepared). Texts being free of it keeps keys apart: the text is
 * what follows the last U+0000, and an empty operationName is not a missing one.
 */
export function preparedKey(query: string, operationName: string | null | undefined): string | undefined {
  if (query.includes('\u0000')) return undefined;
  return operationName === undefined || operationName === null ? query : `${operationName}\u0000${query}`;
}

export interface PreparedOptions {
  /** The execute to use (graphql-jit's when on); yoga's own executor when unset. */
  execute?: Execute;
  /** Most texts kept (least recently used go first); default 1000. */
  maxEntries?: number;
}

class Prepared implements PreparedOperation {
  readonly operationName: string | undefined;
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly document: DocumentNode,
    private readonly name: string | undefined,
    private readonly run: Execute,
  ) {
    this.operationName = getOperationAST(document, name)?.name?.value;
  }
  execute(contextValue: unknown, variableValues: Record<string, unknown> | undefined) {
    return this.run({
      schema: this.schema,
      document: this.document,
      operationName: this.name,
      rootValue: undefined,
      contextValue,
      variableValues,
    });
  }
}

export function createPreparedOperations(options: PreparedOptions = {}): PreparedOperations {
  const maxEntries = options.maxEntries ?? 1000;
  const cache = new Map<string, Prepared>();
  let yogaExecute: Execute | undefined;

  const plugin: Plugin = {
    onExecute({ args, executeFn }) {
      yogaExecute ??= executeFn as Execute;
      const key = (args.contextValue as { [PREPARE_KEY]?: unknown })[PREPARE_KEY];
      if (typeof key !== 'string' || cache.has(key)) return;
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      const run = options.execute ?? yogaExecute;
      cache.set(key, new Prepared(args.schema, args.document, args.operationName ?? undefined, run));
    },
  };

  return {
    plugin,
    get(key) {
      const entry = cache.get(key);
      if (entry !== undefined && cache.size > 1) {
        // Recency for the LRU: Map iteration is insertion order.
        cache.delete(key);
        cache.set(key, entry);
      }
      return entry;
    },
  };
}
