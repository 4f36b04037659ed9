import { type DocumentNode, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * A least-recently-used map bounded by the bytes of its values (as `weigh` estimates them), not by
 * their count: a thousand entries of 1 MB would be a gigabyte. An entry heavier than the whole
 * budget is never stored.
 */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private used = 0;
  constructor(
    readonly maxBytes: number,
    private readonly weigh: (key: K, value: V) => number,
  ) {}

  /** The estimated bytes held now (never above maxBytes). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Map iteration order is insertion order: re-inserting marks it the most recent.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const bytes = this.weigh(key, value);
    if (bytes > this.maxBytes) return;
    while (this.used + bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    this.entries.set(key, { value, bytes });
    this.used += bytes;
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.used -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}

const nodeCounts = new WeakMap<DocumentNode, number>();

/** How many AST nodes a document has (graphql-js's visit keeps its own stack: no recursion). */
export function astNodeCount(document: DocumentNode): number {
  const known = nodeCounts.get(document);
  if (known !== undefined) return known;
  let nodes = 0;
  visit(document, {
    enter() {
      nodes++;
    },
  });
  nodeCounts.set(document, nodes);
  return nodes;
}

/** Measured on Node 20 / graphql 16: a parsed node with its location takes about 300 bytes. */
const BYTES_PER_AST_NODE = 320;

/** A parsed document's estimated heap: its text (kept by `loc.source`) and its nodes. */
export function documentBytes(text: string, document: DocumentNode): number {
  return 2 * text.length + BYTES_PER_AST_NODE * astNodeCount(document);
}

/** yoga's `parserAndValidationCache` Cache shape. */
interface Cache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
}

export interface DocumentCaches {
  /** For yoga's `parserAndValidationCache` option. */
  options: { documentCache: Cache<DocumentNode>; errorCache: Cache<unknown>; validationCache: false };
  /** Caches validation results per parsed document: goes after every plugin that adds a rule. */
  validation: Plugin;
  /** The parsed-document cache (for its byte accounting). */
  documents: ByteLru<string, DocumentNode>;
}

/**
 * yoga's parse and validation caches, bounded by bytes: parsed documents in a ByteLru of
 * `maxBytes` (GRAPHQL_PARSE_CACHE_MAX_BYTES), documents longer than `maxDocumentBytes`
 * (GRAPHQL_CACHE_MAX_DOCUMENT_BYTES) never cached, parse errors never cached (a refusal is cheap
 * to repeat and junk is endless). Validation results are kept in a WeakMap keyed by the parsed
 * document, so they go when their document leaves this cache. They are ours rather than yoga's:
 * the rules are the same for every request of this process, and yoga's cache keys its results by
 * the joined names of the rules, which it rebuilds on every request.
 */
export function createDocumentCaches(options: {
  maxBytes: number;
  maxDocumentBytes: number;
}): DocumentCaches {
  const documents = new ByteLru<string, DocumentNode>(options.maxBytes, (text, document) =>
    documentBytes(text, document),
  );
  return {
    documents,
    options: {
      documentCache: {
        get: (text) => documents.get(text),
        set: (text, document) => {
          if (text.length <= options.maxDocumentBytes) documents.set(text, document);
        },
      },
      errorCache: { get: () => undefined, set: () => {} },
      validationCache: false,
    },
    validation: validationCachePlugin(),
  };
}

function validationCachePlugin(): Plugin {
  const results = new WeakMap<DocumentNode, readonly Error[]>();
  return {
    onValidate({ params, setResult }) {
      const document = params.documentAST;
      const known = results.get(document);
      if (known !== undefined) {
        setResult(known);
        return;
      }
      return ({ result }) => {
        results.set(document, result);
      };
    },
  };
}
