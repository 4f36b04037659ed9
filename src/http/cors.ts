import type { IncomingMessage, ServerResponse } from 'node:http';

/** What CORS decided for a request. */
export type CorsVerdict = 'same-origin' | 'allowed' | 'refused';

const ALLOWED_HEADERS = 'authorization, content-type, accept, x-request-id, traceparent';

/**
 * CORS by allow-list (CORS_ORIGINS): a request without Origin, or from the gateway's own origin
 * (GraphiQL), needs nothing; a listed origin gets its CORS headers, with credentials; anything else
 * is refused, so no other web page can drive the gateway from a visitor's browser.
 */
export function createCors(origins: readonly string[]) {
  const listed = new Set(origins.map((o) => o.toLowerCase()));

  function verdict(req: IncomingMessage): CorsVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return 'same-origin';
    const host = req.headers.host;
    if (host !== undefined) {
      const lower = origin.toLowerCase();
      if (lower === `http://${host.toLowerCase()}` || lower === `https://${host.toLowerCase()}`)
        return 'same-origin';
    }
    return listed.has(origin.toLowerCase()) ? 'allowed' : 'refused';
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
