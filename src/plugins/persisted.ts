import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config/index.js';
import { ErrorCode } from '../errors.js';
import { APQ_HASH, type ApqStore, sha256Hex } from './apq.js';

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

/**
 * Set on the parameters of a request that sent a document with its verified hash: the document is
 * registered under that hash once it has passed validation (never before: junk must not fill the store).
 */
const REGISTER = Symbol('apq.register');
type Registering = { [REGISTER]?: string; query?: string | null };

export interface PersistedDocuments {
  /**
   * The parameters with the document to run as `query` when they name one by
   * `extensions.persistedQuery.sha256Hash` (the manifest's, else one registered automatically), or
   * the error that refuses the request: an unknown hash, a hash that does not match its document, a
   * text when only the manifest's operations may run. Never calls ZStack.
   */
  resolve<P extends Params>(params: P): P | GraphQLError | Promise<P | GraphQLError>;
  /** The same rule for yoga's handler (GET requests, streams), and the registration after validation. */
  readonly plugin: Plugin;
}

function persistedQueryOf(extensions: Record<string, unknown> | null | undefined) {
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown; version?: unknown } | undefined;
  return typeof persisted?.sha256Hash === 'string'
    ? { hash: persisted.sha256Hash, version: persisted.version }
    : undefined;
}

/** A refusal of the request (nothing ran): HTTP 400 on both entries, `http` never shown to the caller. */
const refusal = (message: string, code: ErrorCode) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

/**
 * Persisted operations, both kinds clients send as `extensions.persistedQuery = { version: 1,
 * sha256Hash }`:
 * - a manifest read once at start, as codegen's client preset writes it (`persistedDocuments`),
 *   which always comes first;
 * - automatic persisted queries (Apollo's PersistedQueryLink): an unknown hash sent alone answers
 *   PersistedQueryNotFound, the client sends the document with its hash, the gateway checks that
 *   sha256(document) is the hash, runs it and, once it has passed validation, stores it in `apq`;
 *   later the hash alone runs it. Off (`apq` undefined) with APQ_CACHE_MAX_BYTES=0 or
 *   PERSISTED_OPERATIONS_ONLY=true: a hash outside the manifest is then refused.
 * Both HTTP entries apply the same rule: the JSON POST entry calls `resolve`, yoga's handler runs `plugin`.
 */
export function createPersistedDocuments(options: {
  manifestPath?: string | undefined;
  only: boolean;
  apq?: ApqStore | undefined;
}): PersistedDocuments {
  const documents = options.manifestPath ? loadPersistedOperations(options.manifestPath) : new Map();
  const manifest = options.manifestPath !== undefined;
  const { apq } = options;

  function automatic<P extends Params>(
    params: P,
    hash: string,
    version: unknown,
    store: ApqStore,
  ): P | GraphQLError | Promise<P | GraphQLError> {
    if (version !== 1)
      return refusal('Unsupported persisted query version: send version 1.', ErrorCode.BAD_REQUEST);
    const text = params.query;
    if (text === undefined || text === null || text === '') {
      if (!APQ_HASH.test(hash)) return refusal('PersistedQueryNotFound', ErrorCode.PERSISTED_QUERY_NOT_FOUND);
      return store
        .get(hash)
        .then((query) =>
          query === undefined
            ? refusal('PersistedQueryNotFound', ErrorCode.PERSISTED_QUERY_NOT_FOUND)
            : { ...params, query },
        );
    }
    // A document that does not hash to its hash is refused: nothing runs and nothing is stored.
    if (sha256Hex(text) !== hash)
      return refusal(
        'PersistedQueryMismatch: the sha256Hash is not the SHA-256 of the query sent with it.',
        ErrorCode.PERSISTED_QUERY_MISMATCH,
      );
    return { ...params, [REGISTER]: hash };
  }

  function resolve<P extends Params>(params: P): P | GraphQLError | Promise<P | GraphQLError> {
    const persisted = persistedQueryOf(params.extensions);
    if (persisted === undefined) {
      if (options.only) return refusal('PersistedQueryOnly', ErrorCode.PERSISTED_QUERY_ONLY);
      return params;
    }
    const query = documents.get(persisted.hash);
    if (query !== undefined) return { ...params, query };
    if (apq !== undefined && !options.only) return automatic(params, persisted.hash, persisted.version, apq);
    // Apollo's link answers PersistedQueryNotSupported by sending the document alone from then on.
    if (!manifest) return refusal('PersistedQueryNotSupported', ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED);
    return refusal('PersistedQueryNotFound', ErrorCode.PERSISTED_QUERY_NOT_IN_LIST);
  }

  // A refusal is thrown: it ends the request before yoga's own checks (a hash alone has no query).
  const settle = (out: Params | GraphQLError, setParams: (p: never) => void) => {
    if (out instanceof GraphQLError) throw out;
    setParams(out as never);
  };

  return {
    resolve,
    plugin: {
      onParams({ params, setParams }) {
        const out = resolve(params);
        if (out instanceof Promise) return out.then((o) => settle(o, setParams));
        settle(out, setParams);
      },
      // Both entries hand the pipeline the resolved parameters as `params` of the initial context.
      onValidate({ context }) {
        if (apq === undefined) return;
        const params = (context as { params?: Registering }).params;
        const hash = params?.[REGISTER];
        if (hash === undefined) return;
        return ({ valid }) => {
          if (valid && typeof params?.query === 'string') apq.set(hash, params.query);
        };
      },
    },
  };
}
