/**
 * Whether ZStack answers, for the gateway's `/ready` probe, through the upstream client (its pool,
 * its timeouts) rather than a connection pool of the probe's own.
 */
import type { ZStackClient } from './client.js';
import { ZStackApiError, ZStackHttpError, ZStackUnavailableError } from './errors.js';

export interface ReadyVerdict {
  ready: boolean;
  /** Why not: an HTTP status or a connection fault, never a URL, a host or a token. */
  reason?: string;
}

/** A session uuid that cannot exist: ValidateSession needs no session and answers {"valid": false}. */
const NO_SESSION = '0'.repeat(32);

/**
 * One cheap unauthenticated read (ValidateSession of a session that cannot exist), ended after
 * `timeoutMs` at most; never throws. A GET, so a connection that failed is retried within that time.
 */
export async function checkZStackReady(client: ZStackClient, timeoutMs: number): Promise<ReadyVerdict> {
  try {
    const reply = await client.get<{ valid?: unknown }>(
      { path: `/accounts/sessions/${NO_SESSION}/valid` },
      { deadline: Date.now() + timeoutMs },
    );
    if (typeof reply?.valid !== 'boolean')
      return { ready: false, reason: 'ZStack answered an unexpected body' };
    return { ready: true };
  } catch (err) {
    if (err instanceof ZStackUnavailableError)
      return { ready: false, reason: `ZStack did not answer (${err.reason})` };
    if (err instanceof ZStackHttpError) return { ready: false, reason: `ZStack answered HTTP ${err.status}` };
    if (err instanceof ZStackApiError)
      return { ready: false, reason: `ZStack answered error ${err.errorCode.code}` };
    return { ready: false, reason: 'ZStack answered an unexpected body' };
  }
}
