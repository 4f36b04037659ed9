import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/** What CORS decided for a request. */
export type CorsVerdict = 'same-origin' | 'allowed' | 'refused';

const ALLOWED_HEADERS = 'authorization, content-type, accept, x-request-id, traceparent';

/** Loopback names a browser on the gateway's own machine uses (GraphiQL opened from `npm start`). */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** `http://host` with `:port`, the port left out where the browser leaves it out. */
function httpOrigin(host: string, port: number): string {
  return port === 80 ? `http://${host}` : `http://${host}:${port}`;
}

export interface CorsOptions {
  /** Origins whose web pages may call the gateway cross-origin, with credentials (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  /**
   * The gateway's own origins, as browsers show them (PUBLIC_ORIGINS, e.g. https://gateway.example.com
   * behind a TLS proxy). Empty: the listen address's, http on the port the request came in on, by
   * loopback name (localhost, 127.0.0.1, [::1]) or by HOST when that is one IP address.
   */
  publicOrigins: readonly string[];
  /** The listen address (HOST). */
  host: string;
}

/**
 * CORS by allow-list (CORS_ORIGINS): a request without Origin, or from one of the gateway's own
 * origins (GraphiQL), needs nothing; a listed origin gets its CORS headers, with credentials;
 * anything else is refused, so no other web page can drive the gateway from a visitor's browser.
 *
 * The gateway's own origins are configured, never read from the request's Host: a page on a name
 * the attacker controls, re-pointed at the gateway's address (DNS rebinding), sends Origin and Host
 * alike, so "Origin equals Host" would make it same-origin.
 */
export function createCors(options: CorsOptions) {
  const listed = new Set(options.corsOrigins.map((o) => o.toLowerCase()));
  const publicOrigins = new Set(options.publicOrigins.map((o) => o.toLowerCase()));
  // An IP address cannot be re-pointed by DNS: a HOST that is one names an origin of the gateway's.
  const ownHosts =
    isIP(options.host) === 0 || options.host === '0.0.0.0' || options.host === '::'
      ? LOOPBACK_HOSTS
      : [...LOOPBACK_HOSTS, isIP(options.host) === 6 ? `[${options.host}]` : options.host];
  /** Default own origins by port: a few strings, made once per port a request came in on. */
  const byPort = new Map<number, Set<string>>();

  function isOwn(origin: string, req: IncomingMessage): boolean {
    if (publicOrigins.size > 0) return publicOrigins.has(origin);
    const port = req.socket.localPort;
    if (port === undefined) return false;
    let own = byPort.get(port);
    if (own === undefined) {
      own = new Set(ownHosts.map((host) => httpOrigin(host, port)));
      byPort.set(port, own);
    }
    return own.has(origin);
  }

  function verdict(req: IncomingMessage): CorsVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return 'same-origin';
    const lower = origin.toLowerCase();
    if (isOwn(lower, req)) return 'same-origin';
    return listed.has(lower) ? 'allowed' : 'refused';
  }

  return {
    verdict,
    /** The headers of an answer to a listed origin. */
    allow(req: IncomingMessage, res: ServerResponse): void {
      res.setHeader('access-control-allow-origin', req.headers.origin as string);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-expose-headers', 'x-request-id');
      res.setHeader('vary', 'Origin');
    },
    /** Answers a preflight (OPTIONS) from a listed origin. */
    preflight(req: IncomingMessage, res: ServerResponse): void {
      res.writeHead(204, {
        'access-control-allow-origin': req.headers.origin as string,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      res.end();
    },
  };
}

export type Cors = ReturnType<typeof createCors>;
