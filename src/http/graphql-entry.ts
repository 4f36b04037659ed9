import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../gateway.js';
import type { FeedTimer } from '../live/feed-schedule.js';
import { attachScope, RequestScope, scopeOfRequest } from '../observability/request-scope.js';
import { sessionFromHeader } from '../request/context.js';
import { readBody } from './body.js';
import type { Cors } from './cors.js';
import { writeMultipart } from './graphql-multipart.js';
import { createGraphQLPost } from './graphql-post.js';
import type { InFlight } from './in-flight.js';
import type { Answer } from './media.js';
import { refuse } from './refusals.js';
import type { RequestLog } from './request-log.js';
import type { Router } from './router.js';

/** What serveGraphQL hands a JSON or multipart POST once its body is read (the JSON POST entry). */
export interface PostEngine {
  serve(req: IncomingMessage, res: ServerResponse, body: Buffer, answer: Answer): Promise<void>;
}

export interface GraphQLEntryOptions {
  router: Router;
  cors: Cors;
  gateway: Pick<Gateway, 'yoga' | 'persisted'>;
  inFlight: InFlight;
  logRequest: RequestLog;
  /** Logs an error the caller sees masked. */
  onMasked(error: unknown, scope: RequestScope | undefined): void;
  maxBodyBytes: number;
  /** Signals from AbortControllers (ABORT_SIGNALS=abort-controller, the bench's A/B row). */
  abortControllers?: boolean;
  /** The heartbeats' timers of multipart subscription streams (tests drive them); real ones when unset. */
  heartbeatTimer?: FeedTimer;
}

/** The JSON POST entry over the gateway's pipeline, its refusals and throws counted on the request's scope. */
function createPostEngine(o: GraphQLEntryOptions): PostEngine {
  return createGraphQLPost({
    getEnveloped: (initial) => o.gateway.yoga.getEnveloped(initial as never) as never,
    persisted: o.gateway.persisted,
    abortControllers: o.abortControllers,
    onRefused: (req, error) => scopeOfRequest(req)?.noteErrors([error]),
    onThrown: (req, error) => o.onMasked(error, scopeOfRequest(req)),
    multipart: (req, res, source) =>
      writeMultipart(
        res,
        source,
        { timer: o.heartbeatTimer },
        {
          onErrors: (errors) => scopeOfRequest(req)?.noteErrors(errors),
          onThrown: (error) => o.onMasked(error, scopeOfRequest(req)),
        },
      ),
  });
}

/** Where serveGraphQL keeps a response's scope for its end listener. */
const SCOPE: unique symbol = Symbol('scope');
type ScopedResponse = ServerResponse & { [SCOPE]?: RequestScope };

/**
 * The GraphQL route: a request scope for the log line, then the router's verdict served, by yoga's
 * handler, the JSON POST entry (src/http/graphql-post.ts) or a refusal.
 */
export function createGraphQLEntry(o: GraphQLEntryOptions) {
  const post = createPostEngine(o);
  const yoga = o.gateway.yoga;
  /** The response finished or its connection closed: one log line. */
  function responseEnded(this: ScopedResponse): void {
    const scope = this[SCOPE];
    if (scope === undefined || scope.ended) return;
    scope.ended = true;
    o.inFlight.finished(this);
    o.logRequest(this.statusCode, !this.writableFinished, scope);
  }

  return function serveGraphQL(req: IncomingMessage, res: ServerResponse, id: string, path: string): void {
    const scope = new RequestScope(id, sessionFromHeader(req.headers.authorization), path);
    attachScope(req, scope);
    o.inFlight.add(res);
    // The same listener function for every request (no closure per request). A response emits
    // 'close' once it finished, or when its connection closed first.
    (res as ScopedResponse)[SCOPE] = scope;
    res.on('close', responseEnded);

    const origin = o.cors.verdict(req);
    const route = o.router.graphqlRouteOf(req, path, origin);
    scope.entry = route.entry;
    if (route.entry === 'cors-preflight') {
      o.cors.preflight(req, res);
      return;
    }
    if (origin === 'allowed') o.cors.allow(req, res);
    if (route.entry === 'refused') {
      req.resume();
      refuse(res, scope, route.refusal);
      return;
    }
    if (route.entry === 'yoga') {
      void yoga(req, res);
      return;
    }
    readBody(req, o.maxBodyBytes).then(
      (body) => {
        if (body === undefined) refuse(res, scope, o.router.tooLargeBody);
        else return post.serve(req, res, body, route.answer);
      },
      () => res.destroy(),
    );
  };
}
