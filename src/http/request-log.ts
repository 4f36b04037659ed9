import { ErrorCode } from '../errors.js';
import { type Logger, lineWriter } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { type RequestScope, scopeOf } from '../observability/request-scope.js';
import type { JobEvent, UpstreamCallEvent } from '../zstack/client.js';

/**
 * Routes ZStack answers 2xx whatever the session (logins, ValidateSession, LogOut of an unknown
 * session, a job's result): such an answer proves nothing about the caller.
 */
const SESSIONLESS_ROUTE = /^\/v1\/(?:accounts\/sessions\/|api-jobs\/)|\/login$/;

/** How many sessions IdentifiedSessions remembers before it starts again (a few hundred KB). */
const MAX_IDENTIFIED_SESSIONS = 10_000;

/**
 * Sessions ZStack accepted lately, so that a request of theirs that makes no upstream call of its
 * own (a subscription's opening, a cached screen) still counts as identified for its metrics label.
 * Bounded: past the cap it is emptied, and sessions are remembered again as they are used.
 */
export class IdentifiedSessions {
  private readonly sessions = new Set<string>();
  add(session: string): void {
    if (this.sessions.size >= MAX_IDENTIFIED_SESSIONS) this.sessions.clear();
    this.sessions.add(session);
  }
  has(session: string | undefined): boolean {
    return session !== undefined && this.sessions.has(session);
  }
}

/** Upstream calls and job waits, counted on the request's scope, in metrics and debug lines. */
export function upstreamObservers(logger: Logger, metrics: Metrics, identified: IdentifiedSessions) {
  return {
    onCall(e: UpstreamCallEvent) {
      metrics.onCall(e);
      const scope = scopeOf(e.tag);
      if (scope) {
        scope.upstreamCalls++;
        scope.upstreamMs += e.durationMs;
        if (
          !scope.identified &&
          typeof e.status === 'number' &&
          e.status < 300 &&
          scope.session !== undefined &&
          !SESSIONLESS_ROUTE.test(e.route)
        ) {
          scope.identified = true;
          identified.add(scope.session);
        }
      }
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { reqId: scope?.id, method: e.method, route: e.route, status: e.status, durationMs: e.durationMs },
          'upstream call',
        );
      }
    },
    onJob(e: JobEvent) {
      metrics.onJob(e);
      const scope = scopeOf(e.tag);
      if (scope) {
        scope.jobs++;
        scope.jobPolls += e.polls;
        scope.jobWaitMs += e.waitMs;
      }
      if (logger.isLevelEnabled('debug')) {
        const { jobUuid, route, polls, waitMs, outcome } = e;
        logger.debug({ reqId: scope?.id, jobUuid, route, polls, waitMs, outcome }, 'job wait');
      }
    },
  };
}

/** A string member of the request line: JSON-escaped, left out when undefined (as pino does). */
function stringMember(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}

/** Logs and counts one finished request (or one WebSocket operation). */
export type RequestLog = (status: number, aborted: boolean, scope: RequestScope) => void;

/**
 * One line per request at info (warn for a 5xx or an internal error), and the request metrics: the
 * GraphQL ones for `graphqlPath` only, an HTTP counter by status for any other path (scanners' 404s).
 */
export function requestLog(
  logger: Logger,
  metrics: Metrics,
  identified: IdentifiedSessions,
  graphqlPath: string,
): RequestLog {
  const write = lineWriter(logger);
  return (status, aborted, scope) => {
    const ms = performance.now() - scope.started;
    const code = scope.code ?? (status >= 400 ? `HTTP_${status}` : 'OK');
    if (scope.path === graphqlPath) {
      metrics.observeRequest(
        scope.operation,
        code,
        ms / 1000,
        scope.identified || identified.has(scope.session),
      );
    } else {
      metrics.observeHttp(status);
    }
    const level = status >= 500 || code === ErrorCode.INTERNAL_SERVER_ERROR ? 'warn' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    write(
      level,
      `"reqId":${JSON.stringify(scope.id)}${stringMember('path', scope.path)}${stringMember('entry', scope.entry)}` +
        `,"status":${status}${stringMember('operation', scope.operation)},"code":${JSON.stringify(code)}` +
        `,"errors":${scope.errors},"durationMs":${Math.round(ms * 10) / 10}` +
        `,"upstream":{"calls":${scope.upstreamCalls},"ms":${Math.round(scope.upstreamMs * 10) / 10}}` +
        `,"jobs":{"count":${scope.jobs},"polls":${scope.jobPolls},"waitMs":${scope.jobWaitMs}}` +
        `,"aborted":${aborted}`,
      'request',
    );
  };
}
