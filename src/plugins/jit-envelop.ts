import { type JITCache, useGraphQlJit } from '@envelop/graphql-jit';
import { type DocumentNode, type ExecutionArgs, execute, getOperationAST, Kind, parse } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { usesIncrementalDelivery } from './defer-stream.js';
import { astNodeCount, ByteLru } from './document-cache.js';
import {
  type Execute,
  introspects,
  JIT_BYTES_PER_AST_NODE,
  type JitOptions,
  likeGraphQLJs,
  variablesAreSafe,
} from './jit.js';

/** What @envelop/graphql-jit keeps per document text in its `cache` option. */
export type EnvelopJitEntry = Parameters<JITCache['set']>[1];

const isPromise = (v: unknown): v is Promise<unknown> => v instanceof Promise;

/**
 * The bench's side-by-side row for src/plugins/jit.ts (GRAPHQL_JIT_PLUGIN=envelop, bench/README.md):
 * `@envelop/graphql-jit` in its best configuration, answering as ours does. `enableIf` leaves to
 * graphql-js what ours leaves to it (large documents, unsafe variables, introspection, @defer and
 * @stream) plus what the library cannot tell apart or would change: documents of several operations
 * (it keys compiled code by document, not by operation) and subscriptions (it would run them on
 * graphql-jit's subscribe). Its `cache` is a ByteLru of the GRAPHQL_JIT_CACHE_MAX_BYTES budget, by
 * document text. Around it, one plugin hands a compiled result's errors to the same rebuild as ours
 * (locations, masking) and re-runs on yoga's executor what graphql-jit refused without running
 * (variables, a document it could not compile). What no option reaches: the library also keeps
 * every compiled document in a WeakMap by parsed document, so compiled code lives as long as the
 * parse cache keeps its document, whatever the byte budget says.
 */
export function createEnvelopJitPlugins(options: JitOptions = {}): {
  plugins: Plugin[];
  cache: ByteLru<string, EnvelopJitEntry>;
} {
  const maxDocumentBytes = options.maxDocumentBytes ?? 32 * 1024;
  const cache = new ByteLru<string, EnvelopJitEntry>(
    options.maxBytes ?? 64 * 1024 * 1024,
    // The cache sees the text only: parsed again once per compilation, which costs far less.
    (text) => JIT_BYTES_PER_AST_NODE * astNodeCount(parse(text, { noLocation: true })),
  );

  const decided = new WeakMap<DocumentNode, boolean>();
  function compilable(args: ExecutionArgs): boolean {
    const text = args.document.loc?.source.body;
    if (text !== undefined && text.length > maxDocumentBytes) return false;
    let operations = 0;
    for (const d of args.document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) operations++;
    if (operations !== 1) return false;
    if (getOperationAST(args.document, args.operationName)?.operation === 'subscription') return false;
    return variablesAreSafe(args) && !introspects(args) && !usesIncrementalDelivery(args.document);
  }
  /** Decided once per parsed document (a document has one operation when this says yes). */
  function enableIf(args: ExecutionArgs): boolean {
    let on = decided.get(args.document);
    if (on === undefined) {
      on = compilable(args);
      decided.set(args.document, on);
      if (!on) options.onCompile?.({ operationName: args.operationName ?? undefined, compiled: false });
    }
    return on;
  }

  const jit = useGraphQlJit(
    {},
    {
      enableIf,
      cache: {
        get: (text) => cache.get(text),
        set: (text, entry) => {
          cache.set(text, entry);
          options.onCompile?.({ operationName: undefined, compiled: true });
        },
      },
      onError: (result) =>
        options.onCompile?.({ operationName: undefined, compiled: false, reason: result.errors }),
    },
  );

  // yoga's own executor, the first one seen (yoga hands every request the same).
  let fallback: Execute = execute;
  let fallbackKnown = false;
  const before: Plugin = {
    onExecute({ executeFn }) {
      if (fallbackKnown) return;
      fallback = executeFn as Execute;
      fallbackKnown = true;
    },
  };
  let jitExecute: Execute | undefined;
  let answered: Execute = execute;
  const after: Plugin = {
    onExecute({ executeFn, setExecuteFn }) {
      if (executeFn === fallback) return; // enableIf said no
      if (executeFn !== jitExecute) {
        const run = executeFn as Execute;
        jitExecute = run;
        answered = (args) => {
          const result = run(args);
          if (isPromise(result)) return result.then((r) => likeGraphQLJs(r, args, fallback));
          return likeGraphQLJs(result, args, fallback);
        };
      }
      setExecuteFn(answered);
    },
  };
  return { plugins: [before, jit as Plugin, after], cache };
}
