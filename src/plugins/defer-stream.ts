import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { BREAK, type DocumentNode, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * `@defer` and `@stream` (incremental delivery): yoga's defer-stream plugin adds both directives to
 * the schema and their validation rules; yoga's graphql-js executor (@graphql-tools/executor) then
 * answers such a document in parts, over multipart (`Accept: multipart/mixed`, Apollo's
 * `deferSpec=20220824`) or SSE, through yoga's handler. graphql-jit does not do incremental
 * delivery, so the jit plugin leaves these documents to graphql-js (usesIncrementalDelivery).
 */
export function createDeferStreamPlugin(): Plugin {
  return useDeferStream() as Plugin;
}

const seen = new WeakMap<DocumentNode, boolean>();

/** Whether a document uses `@defer` or `@stream` anywhere (graphql-js's visit: no recursion); cached per document. */
export function usesIncrementalDelivery(document: DocumentNode): boolean {
  let found = seen.get(document);
  if (found !== undefined) return found;
  found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value === 'defer' || node.name.value === 'stream') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  seen.set(document, found);
  return found;
}
