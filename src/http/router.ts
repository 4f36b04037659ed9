import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CorsVerdict } from './cors.js';
import { type Answer, isJsonContentType, type JsonMediaType, negotiate } from './media.js';
import { NOT_ACCEPTABLE, NOT_FOUND, NOT_JSON, REFUSED_ORIGIN, type Refusal, tooLarge } from './refusals.js';

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The caller's X-Request-Id when it is a plain token, else a new one. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Which function serves a request, by path alone. */
export type Route = 'probe' | 'webhook' | 'graphql';

/** How a request for GraphQL (or GraphiQL's assets) is served, from its headers alone. */
export type GraphQLRoute =
  | { entry: 'cors-preflight' }
  | { entry: 'refused'; refusal: Refusal }
  | { entry: 'yoga' }
  | { entry: 'graphql-post' | 'multipart'; answer: Answer };

export interface RouterOptions {
  graphqlPath: string;
  /** Where GraphiQL's assets are served (a prefix), when the page is. */
  assetsPath: string | undefined;
  /** The job-callback path of ZSTACK_WEBHOOK_URL, when set. */
  hookPath: string | undefined;
  /** /metrics is served here (no METRICS_PORT of its own). */
  metricsHere: boolean;
  maxBodyBytes: number;
  /**
   * Which engine answers a JSON POST: ours (src/http/graphql-post.ts) or yoga's handler; the
   * bench compares them on the same requests (GRAPHQL_POST_ENTRY=yoga, read by src/server.ts only).
   */
  postEntry: 'ours' | 'yoga';
}

const YOGA: GraphQLRoute = { entry: 'yoga' };
const PREFLIGHT: GraphQLRoute = { entry: 'cors-preflight' };
/** The JSON POST routes, one per answer's media type: made once, not per request. */
const POST_ROUTES: Readonly<Record<JsonMediaType, GraphQLRoute>> = {
  'application/json': { entry: 'graphql-post', answer: 'application/json' },
  'application/graphql-response+json': {
    entry: 'graphql-post',
    answer: 'application/graphql-response+json',
  },
};

/**
 * The request → route decision and every refusal made from the headers alone, before any body is
 * read or GraphQL runs. The Accept header is read once per request.
 */
export function createRouter(o: RouterOptions) {
  const tooLargeBody = tooLarge(o.maxBodyBytes);
  /**
   * The paths yoga serves: /graphql exactly, and GraphiQL's assets under their own prefix, spelled
   * plainly. yoga matches a URL it has normalized (`/x/../graphql`, `//graphql` and `/graphql/`
   * reach its GraphQL handler), so any other spelling is answered 404 here, before yoga sees it,
   * and cannot slip past the rules that check `path === graphqlPath` (the 415 for non-JSON POSTs).
   */
  const servedPath = (path: string) =>
    path === o.graphqlPath ||
    (o.assetsPath !== undefined && path.startsWith(o.assetsPath) && !/\/\.|\/\/|%|\\/.test(path));

  return {
    tooLargeBody,
    /** The route of a path: the probes, ZStack's job callbacks, or GraphQL (which refuses unknown paths). */
    routeOf(path: string): Route {
      if (path === '/health' || path === '/ready' || (path === '/metrics' && o.metricsHere)) return 'probe';
      if (path === o.hookPath) return 'webhook';
      return 'graphql';
    },
    /**
     * How a GraphQL request is served: a CORS preflight, a refusal, yoga's handler (GET, SSE, GraphiQL),
     * or a POST of ours (JSON, or Apollo's multipart subscriptions, which yoga does not serve).
     */
    graphqlRouteOf(req: IncomingMessage, path: string, origin: CorsVerdict): GraphQLRoute {
      if (origin === 'allowed' && req.method === 'OPTIONS') return PREFLIGHT;
      if (origin === 'refused') return { entry: 'refused', refusal: REFUSED_ORIGIN };
      if (!servedPath(path)) return { entry: 'refused', refusal: NOT_FOUND };
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > o.maxBodyBytes)
        return { entry: 'refused', refusal: tooLargeBody };
      if (req.method !== 'POST') return YOGA;
      if (!isJsonContentType(req.headers['content-type'])) return { entry: 'refused', refusal: NOT_JSON };
      const accepted = negotiate(req.headers.accept);
      if (!accepted.stream && accepted.json === undefined)
        return { entry: 'refused', refusal: NOT_ACCEPTABLE };
      if (path !== o.graphqlPath) return YOGA;
      if (accepted.multipartSubscription)
        return { entry: 'multipart', answer: { multipart: true, json: accepted.json } };
      if (accepted.stream || o.postEntry === 'yoga' || accepted.json === undefined) return YOGA;
      return POST_ROUTES[accepted.json];
    },
  };
}

export type Router = ReturnType<typeof createRouter>;
