import { Pool } from 'undici';

export interface Readiness {
  /** ZStack's verdict, cached for `cacheMs`; concurrent callers share one probe. */
  check(): Promise<{ ready: boolean; reason?: string }>;
  close(): Promise<void>;
}

export interface ReadinessOptions {
  /** ZStack base with context path, e.g. http://zstack:8080/zstack. */
  zstackUrl: string;
  timeoutMs: number;
  cacheMs: number;
}

/** A session uuid that cannot exist: ValidateSession needs no session and answers {"valid": false}. */
const NO_SESSION = '0'.repeat(32);

/**
 * ZStack readiness: one cheap unauthenticated GET (ValidateSession of a session that cannot exist)
 * through a pool of its own, so a probe never waits behind requests' upstream calls.
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const url = new URL(options.zstackUrl);
  const path = `${url.pathname.replace(/\/+$/, '')}/v1/accounts/sessions/${NO_SESSION}/valid`;
  const pool = new Pool(url.origin, {
    connections: 2,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  });
  let cached: { at: number; verdict: { ready: boolean; reason?: string } } | undefined;
  let inFlight: Promise<{ ready: boolean; reason?: string }> | undefined;

  async function probe(): Promise<{ ready: boolean; reason?: string }> {
    try {
      const res = await pool.request({ method: 'GET', path, signal: AbortSignal.timeout(options.timeoutMs) });
      const text = await res.body.text();
      if (res.statusCode !== 200) return { ready: false, reason: `ZStack answered HTTP ${res.statusCode}` };
      const body = JSON.parse(text) as { valid?: unknown };
      if (typeof body?.valid !== 'boolean')
        return { ready: false, reason: 'ZStack answered an unexpected body' };
      return { ready: true };
    } catch (err) {
      const code = (err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name;
      return { ready: false, reason: `ZStack did not answer (${typeof code === 'string' ? code : 'error'})` };
    }
  }

  return {
    check() {
      if (cached && Date.now() - cached.at < options.cacheMs) return Promise.resolve(cached.verdict);
      inFlight ??= probe().then((verdict) => {
        cached = { at: Date.now(), verdict };
        inFlight = undefined;
        return verdict;
      });
      return inFlight;
    },
    close: () => pool.close(),
  };
}
