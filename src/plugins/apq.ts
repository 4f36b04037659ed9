import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ByteLru } from './document-cache.js';

/** sha256 of a document's UTF-8 text, lowercase hex: the hash Apollo's PersistedQueryLink sends. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What a hash must look like to be looked up at all (anything else is never stored). */
export const APQ_HASH = /^[0-9a-f]{64}$/;

/**
 * An entry's heap besides its text (2 bytes per character, as V8 may keep it): the 64-character
 * key, the map entry and the record around the value.
 */
const ENTRY_OVERHEAD_BYTES = 256;

export interface ApqStoreOptions {
  /** Byte budget of this instance's store (APQ_CACHE_MAX_BYTES, > 0). */
  maxBytes: number;
  /** Documents longer than this (UTF-8 bytes) are never stored (GRAPHQL_MAX_DOCUMENT_BYTES). */
  maxDocumentBytes: number;
  /** Shared with the other instances when REDIS_URL is set; its commands fail fast when it is down. */
  redis?: Redis | undefined;
  /** Every key starts with it (REDIS_KEY_PREFIX). */
  redisKeyPrefix?: string;
  /** How long a document stays in Redis after its last registration (APQ_REDIS_TTL_SECONDS). */
  redisTtlSeconds?: number;
  /**
   * Most document bytes this instance writes to Redis per minute (APQ_REDIS_MAX_BYTES_PER_MINUTE);
   * past it a registration is kept here only, so what any client can make Redis hold is bounded by
   * this × the TTL per instance. Unlimited when unset.
   */
  redisMaxBytesPerMinute?: number;
  /** The clock of that per-minute window (Date.now by default; tests drive it). */
  now?: () => number;
  /**
   * A Redis command that failed while Redis was up (a timeout); the request goes on with the local
   * store. Outages are the cluster's to report, once each, never per command.
   */
  onRedisError?: (err: unknown, what: string) => void;
}

export interface ApqStore {
  /**
   * The document registered under `hash`: this instance's store first, then Redis (copied here on
   * a hit). Undefined when unknown, and when Redis fails or holds a document that does not hash to
   * its key: never a rejection.
   */
  get(hash: string): Promise<string | undefined>;
  /**
   * Registers a document that hashed to `hash` and passed validation: here, and in Redis (fire and
   * forget). A document over GRAPHQL_MAX_DOCUMENT_BYTES is not stored.
   */
  set(hash: string, document: string): void;
  /** This instance's store (its byte accounting, for tests and diagnostics). */
  readonly local: { readonly maxBytes: number; readonly bytes: number; readonly size: number };
}

/**
 * The automatic-persisted-query store: a ByteLru of hash → document on each instance, and, with
 * Redis, a key `<prefix>apq:<hash>` per document with a TTL, so a document registered through one
 * instance runs by hash on every other. Redis is an addition, never a dependency: when it does not
 * answer, each instance uses its own store and clients register again where needed.
 */
export function createApqStore(options: ApqStoreOptions): ApqStore {
  const local = new ByteLru<string, string>(
    options.maxBytes,
    (_hash, document) => 2 * document.length + ENTRY_OVERHEAD_BYTES,
  );
  const redis = options.redis;
  const keyOf = (hash: string) => `${options.redisKeyPrefix ?? ''}apq:${hash}`;
  const ttl = options.redisTtlSeconds ?? 86_400;
  const onRedisError = options.onRedisError ?? (() => {});
  const writeBudget = options.redisMaxBytesPerMinute ?? Number.POSITIVE_INFINITY;
  const now = options.now ?? Date.now;
  let windowStart = Number.NEGATIVE_INFINITY;
  let written = 0;
  /** Takes `bytes` from this minute's Redis write budget; false when they do not fit. */
  const mayWrite = (bytes: number): boolean => {
    const t = now();
    if (t - windowStart >= 60_000) {
      windowStart = t;
      written = 0;
    }
    if (written + bytes > writeBudget) return false;
    written += bytes;
    return true;
  };
  const fits = (document: string) =>
    // Cheap bound first: a UTF-8 byte is at most one UTF-16 unit, at least a third of one.
    document.length <= options.maxDocumentBytes &&
    Buffer.byteLength(document, 'utf8') <= options.maxDocumentBytes;

  return {
    local,
    async get(hash) {
      const here = local.get(hash);
      // While Redis is away (the cluster reports the outage once) nothing waits for it.
      if (here !== undefined || redis === undefined || redis.status !== 'ready') return here;
      let shared: string | null;
      try {
        shared = await redis.get(keyOf(hash));
      } catch (err) {
        onRedisError(err, 'apq get');
        return undefined;
      }
      // Whoever can write Redis must not be able to make a hash run another document.
      if (shared === null || !fits(shared) || sha256Hex(shared) !== hash) return undefined;
      local.set(hash, shared);
      return shared;
    },
    set(hash, document) {
      if (!fits(document)) return;
      local.set(hash, document);
      if (redis?.status !== 'ready' || !mayWrite(Buffer.byteLength(document, 'utf8'))) return;
      redis.set(keyOf(hash), document, 'EX', ttl).catch((err: unknown) => onRedisError(err, 'apq set'));
    },
  };
}
