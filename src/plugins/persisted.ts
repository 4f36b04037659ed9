import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config.js';

export interface PersistedOperationsOptions {
  /** A JSON object hash → document, as codegen's client preset writes with `persistedDocuments`. */
  manifestPath: string;
  /** Refuse documents sent as text, so only the manifest's operations run (PERSISTED_OPERATIONS_ONLY). */
  only: boolean;
}

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

/**
 * Yoga's persisted-operations plugin over a manifest read once at start. Clients send
 * `extensions.persistedQuery = { version: 1, sha256Hash }`; unknown hashes get PERSISTED_QUERY_NOT_IN_LIST.
 */
export function createPersistedOperationsPlugin(options: PersistedOperationsOptions): Plugin {
  const operations = loadPersistedOperations(options.manifestPath);
  return usePersistedOperations({
    getPersistedOperation: (hash) => operations.get(hash) ?? null,
    allowArbitraryOperations: !options.only,
  }) as Plugin;
}
