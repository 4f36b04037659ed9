/**
 * Names and signatures among instances: a session is named by HMAC-SHA256(REDIS_KEY_SECRET, token),
 * never the token; every entry and message is signed with a key derived from the secret (so a
 * signature never doubles as a session's name), and one read back is checked before it is parsed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RejectReason } from './cluster.js';

export interface Signer {
  /** A session's name in Redis (base64url). */
  keyOf(session: string): string;
  /** `text` signed for `where` (the stream or channel it goes to): `<signature>.<text>`. */
  signed(where: string, text: string): string;
  /** The parsed JSON of a signed text read from `where`; undefined (and `onRejected`) when it fails a check. */
  verified(where: string, raw: string): unknown;
}

export function createSigner(
  keySecret: string,
  maxMessageBytes: number | undefined,
  onRejected: ((reason: RejectReason) => void) | undefined,
): Signer {
  const maxBytes = maxMessageBytes ?? Number.POSITIVE_INFINITY;
  const signKey = createHmac('sha256', keySecret).update('zstack-graphql feed signature v1').digest();
  const sign = (where: string, text: string) =>
    createHmac('sha256', signKey).update(where).update('\n').update(text).digest();
  return {
    keyOf(session) {
      return createHmac('sha256', keySecret).update(session).digest('base64url');
    },
    signed(where, text) {
      return `${sign(where, text).toString('base64url')}.${text}`;
    },
    verified(where, raw) {
      if (Buffer.byteLength(raw) > maxBytes) {
        onRejected?.('too_large');
        return undefined;
      }
      const dot = raw.indexOf('.');
      const signature = dot > 0 ? Buffer.from(raw.slice(0, dot), 'base64url') : Buffer.alloc(0);
      const text = dot > 0 ? raw.slice(dot + 1) : '';
      const expected = sign(where, text);
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
        onRejected?.('signature');
        return undefined;
      }
      try {
        return JSON.parse(text);
      } catch {
        onRejected?.('malformed');
        return undefined;
      }
    },
  };
}
