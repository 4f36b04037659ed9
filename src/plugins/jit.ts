import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isInputObjectType,
  isNonNullType,
  Kind,
  type SelectionSetNode,
  type Source,
  type SourceLocation,
  typeFromAST,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { usesIncrementalDelivery } from './defer-stream.js';
import { astNodeCount, ByteLru } from './document-cache.js';

/** Compiled operations of one document, by operation name ('' = the only one). */
export interface DocumentEntry {
  schema: GraphQLSchema;
  /** `null`: graphql-jit could not compile it, so graphql-js runs it. */
  operations: Map<string, CompiledQuery | null>;
}

/**
 * Estimated heap of graphql-jit's compiled code per AST node of the document (generated source,
 * closures, and V8's code for them); measured at about 0.45 MB for a 1 KB document.
 */
export const JIT_BYTES_PER_AST_NODE = 4096;

export interface JitOptions {
  /**
   * Byte budget of the compiled documents (least recently used go first; GRAPHQL_JIT_CACHE_MAX_BYTES),
   * each weighed JIT_BYTES_PER_AST_NODE per AST node; default 64 MiB.
   */
  maxBytes?: number;
  /** Documents whose text is longer run on graphql-js, never compiled (GRAPHQL_CACHE_MAX_DOCUMENT_BYTES); default 32 KiB. */
  maxDocumentBytes?: number;
  /**
   * Called once per operation and document when it is first seen: `compiled` false means it runs
   * on graphql-js (`reason` says why, when graphql-jit gave one).
   */
  onCompile?: (e: { operationName: string | undefined; compiled: boolean; reason?: unknown }) => void;
}

export type Execute = (args: ExecutionArgs) => ReturnType<typeof execute>;

const NON_NULL_MESSAGE = 'Cannot return null for non-nullable field';

/** graphql-js's offset of a line/column in `body` (lines end at \r\n, \n or \r). */
function positionOf(body: string, location: SourceLocation): number {
  let position = 0;
  for (let line = 1; line < location.line; line++) {
    const n = body.indexOf('\n', position);
    const r = body.indexOf('\r', position);
    if (n < 0 && r < 0) break;
    position = r >= 0 && (n < 0 || r < n) ? (body[r + 1] === '\n' ? r + 2 : r + 1) : n + 1;
  }
  return position + location.column - 1;
}

/**
 * graphql-jit's errors are look-alikes: locations without nodes or source, and no originalError
 * for a null in a non-null field. Rebuilt as graphql-js builds them, they are masked and located
 * exactly as without jit.
 */
function toGraphQLJsError(error: GraphQLError, source: Source | undefined): GraphQLError {
  const positions =
    source !== undefined && error.locations !== undefined
      ? error.locations.map((l) => positionOf(source.body, l))
      : undefined;
  // graphql-jit keeps a resolver's GraphQLError (extensions and all) but reports a failed scalar
  // serialization by its message alone: without a code it was no deliberate error, and is masked
  // (and logged) as graphql-js masks the Error the scalar threw.
  const deliberate =
    !error.message.startsWith(NON_NULL_MESSAGE) &&
    (error.extensions as Record<string, unknown> | undefined)?.code !== undefined;
  const originalError =
    error.originalError ?? (deliberate ? new GraphQLError(error.message) : new Error(error.message));
  return new GraphQLError(error.message, {
    source: positions === undefined ? undefined : source,
    positions,
    path: error.path,
    originalError,
    extensions: error.extensions,
  });
}

/**
 * Without `data` graphql-jit refused the request before running anything (variables): graphql-js
 * then answers it, in its own words and HTTP status; field errors are rebuilt as graphql-js errors.
 */
export function likeGraphQLJs(
  result: ExecutionResult,
  args: ExecutionArgs,
  fallback: Execute,
): ExecutionResult | Promise<ExecutionResult> {
  if (!('data' in result)) return fallback(args);
  const errors = result.errors;
  if (errors === undefined || errors.length === 0) return result;
  const source = args.document.loc?.source;
  return { ...result, errors: errors.map((e) => toGraphQLJsError(e, source)) };
}

/** Input types, by whether a value of them can contain a non-null field with a default. */
const defaultedRequiredField = new WeakMap<GraphQLInputType, boolean>();

function hasDefaultedRequiredField(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return false;
  const known = defaultedRequiredField.get(named);
  if (known !== undefined) return known;
  if (seen.has(named)) return false;
  seen.add(named);
  let found = false;
  for (const field of Object.values(named.getFields())) {
    if (isNonNullType(field.type) && field.defaultValue !== undefined) found = true;
    else if (hasDefaultedRequiredField(field.type, seen)) found = true;
    if (found) break;
  }
  defaultedRequiredField.set(named, found);
  return found;
}

/**
 * graphql-jit 0.8 coerces variables differently from graphql-js in two cases: a non-null input
 * field with a default is reported missing, and a non-null variable with a default is too. Such
 * operations run on graphql-js so a client sees the same answer either way.
 */
export function variablesAreSafe(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return true; // jit reports the same "which operation?" error
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue !== undefined && definition.type.kind === 'NonNullType') return false;
    const type = typeFromAST(args.schema, definition.type) as GraphQLInputType | undefined;
    if (type !== undefined && hasDefaultedRequiredField(type)) return false;
  }
  return true;
}

/**
 * Whether the operation reads `__schema` or `__type` at its root: introspection runs on graphql-js,
 * as a client fetches it once, and compiling the full introspection query costs more (40-60 ms)
 * than running it; a document made unique would pay that on every request.
 */
export function introspects(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return false;
  const stack: SelectionSetNode[] = [operation.selectionSet];
  const seen = new Set<string>();
  while (stack.length > 0) {
    for (const selection of (stack.pop() as SelectionSetNode).selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__schema' || selection.name.value === '__type') return true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) stack.push(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = args.document.definitions.find(
          (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) stack.push(fragment.selectionSet);
      }
    }
  }
  return false;
}

/**
 * Compiled execution for repeated documents: each operation is compiled once by graphql-jit and
 * kept in an LRU bounded by bytes, keyed by the parsed document (yoga's parse cache hands back the same object for
 * the same text). Anything graphql-jit cannot compile runs on yoga's graphql-js executor; subscriptions
 * are untouched (they never reach onExecute).
 */
export function createJitPlugin(
  options: JitOptions = {},
): Plugin & { cache: ByteLru<DocumentNode, DocumentEntry> } {
  const maxDocumentBytes = options.maxDocumentBytes ?? 32 * 1024;
  const cache = new ByteLru<DocumentNode, DocumentEntry>(
    options.maxBytes ?? 64 * 1024 * 1024,
    (document) => JIT_BYTES_PER_AST_NODE * astNodeCount(document),
  );

  /** A large document runs on graphql-js: compiling it would cost more than it saves, and memory. */
  function tooLarge(document: DocumentNode): boolean {
    const text = document.loc?.source.body;
    return text !== undefined && text.length > maxDocumentBytes;
  }

  function compiled(args: ExecutionArgs): CompiledQuery | null {
    if (tooLarge(args.document)) return null;
    let entry = cache.get(args.document);
    if (entry === undefined || entry.schema !== args.schema) {
      entry = { schema: args.schema, operations: new Map() };
      cache.set(args.document, entry);
    }
    const name = args.operationName ?? '';
    let query = entry.operations.get(name);
    if (query === undefined) {
      query = compile(args);
      entry.operations.set(name, query);
    }
    return query;
  }

  function compile(args: ExecutionArgs): CompiledQuery | null {
    const operationName = args.operationName ?? undefined;
    // graphql-jit runs @defer/@stream documents eagerly: graphql-js answers them in parts.
    if (!variablesAreSafe(args) || introspects(args) || usesIncrementalDelivery(args.document)) {
      options.onCompile?.({ operationName, compiled: false });
      return null;
    }
    let reason: unknown;
    try {
      const result = compileQuery(args.schema, args.document, operationName);
      if (isCompiledQuery(result)) {
        options.onCompile?.({ operationName, compiled: true });
        return result;
      }
      reason = result.errors;
    } catch (err) {
      reason = err;
    }
    options.onCompile?.({ operationName, compiled: false, reason });
    return null;
  }

  // yoga's own executor (graphql-js semantics, plus its HTTP status for variable errors); the
  // first one seen, as yoga hands every request the same.
  let fallback: Execute = execute;
  let fallbackKnown = false;

  const jitExecute: Execute = (args) => {
    const query = compiled(args);
    if (query === null) return fallback(args);
    const result = query.query(args.rootValue, args.contextValue, args.variableValues);
    if (result instanceof Promise) return result.then((r) => likeGraphQLJs(r, args, fallback));
    return likeGraphQLJs(result, args, fallback);
  };

  const plugin: Plugin & { cache: ByteLru<DocumentNode, DocumentEntry> } = {
    cache,
    onExecute({ executeFn, setExecuteFn }) {
      if (!fallbackKnown) {
        fallback = executeFn as Execute;
        fallbackKnown = true;
      }
      setExecuteFn(jitExecute);
    },
  };
  return plugin;
}
