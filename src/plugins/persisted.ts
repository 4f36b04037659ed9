import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config.js';
import { ErrorCode } from '../errors.js';

/** Reads and checks a persisted-documents manifest; throws ConfigError on anything but hash → string. */
export function loadPersistedOperations(manifestPath: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new ConfigError(`PERSISTED_OPERATIONS_FILE: cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      `PERSISTED_OPERATIONS_FILE: ${manifestPath} must hold a JSON object of hash → document`,
    );
  }
  const operations = new Map<string, string>();
  for (const [hash, document] of Object.entries(parsed)) {
    if (typeof document !== 'string' || document.trim() === '') {
      throw new ConfigError(
        `PERSISTED_OPERATIONS_FILE: ${manifestPath}: the document of ${hash} is not a non-empty string`,
      );
    }
    operations.set(hash, document);
  }
  return operations;
}

/** The request parameters persisted operations look at. */
interface Params {
  query?: string | null;
  extensions?: Record<string, unknown> | null;
}

export interface PersistedDocuments {
  /**
   * The parameters with the manifest's document as `query` when they name one by
   * `extensions.persistedQuery.sha256Hash`; an error for an unknown hash, or for a text when only
   * the manifest's operations may run.
   */
  resolve<P extends Params>(params: P): P | GraphQLError;
  /** The same rule for yoga's handler (GET requests, streams). */
  readonly plugin: Plugin;
}

function hashOf(extensions: Record<string, unknown> | null | undefined): string | undefined {
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  return typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
}

/**
 * Persisted operations over a manifest read once at start, as codegen's client preset writes it
 * (`persistedDocuments`). Clients send `extensions.persistedQuery = { version: 1, sha256Hash }`.
 * Both HTTP entries apply the same rule: the JSON POST entry calls `resolve`, yoga's handler runs `plugin`.
 */
export function createPersistedDocuments(options: {
  manifestPath: string;
  only: boolean;
}): PersistedDocuments {
  const documents = loadPersistedOperations(options.manifestPath);
  function resolve<P extends Params>(params: P): P | GraphQLError {
    const hash = hashOf(params.extensions);
    if (hash !== undefined) {
      const query = documents.get(hash);
      if (query === undefined)
        return new GraphQLError('PersistedQueryNotFound', {
          extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST },
        });
      return { ...params, query };
    }
    if (options.only)
      return new GraphQLError('PersistedQueryOnly', { extensions: { code: ErrorCode.PERSISTED_QUERY_ONLY } });
    return params;
  }
  return {
    resolve,
    plugin: {
      onParams({ params, setParams, setResult }) {
        const out = resolve(params);
        if (out instanceof GraphQLError) setResult({ errors: [out] });
        else setParams(out);
      },
    },
  };
}
