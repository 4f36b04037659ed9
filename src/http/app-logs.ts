import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import type { GatewayDeps } from '../gateway.js';
import { type Logger, scrub, scrubUuids } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createScopePlugin, type RequestScope } from '../observability/request-scope.js';
import type { Tracing } from '../observability/tracing.js';
import { ZStackError } from '../zstack/errors.js';
import { type IdentifiedSessions, upstreamObservers } from './request-log.js';

/** A ZStack failure as the client reports it, bare or wrapped in a GraphQLError. */
function isUpstreamError(value: unknown): boolean {
  return (
    value instanceof ZStackError ||
    (value instanceof GraphQLError && value.originalError instanceof ZStackError)
  );
}

/** yoga's own log lines: no request to tell whose session they hold, so every uuid goes. */
export function yogaLogger(logger: Logger): YogaLogger {
  const log = logger.child({ component: 'yoga' });
  const text = (args: unknown[]) =>
    scrubUuids(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
  return {
    debug: (...args) => {
      if (log.isLevelEnabled('debug')) log.debug(text(args));
    },
    info: (...args) => log.info(text(args)),
    warn: (...args) => log.warn(text(args)),
    error: (...args) => {
      // yoga logs every error its masking replaces, upstream ones too; those reached the caller
      // with their code (an expired session is no fault of the gateway), so they are debug lines.
      if (args.length === 1 && isUpstreamError(args[0])) {
        if (log.isLevelEnabled('debug')) log.debug(text(args));
        return;
      }
      log.error(text(args));
    },
  };
}

/** A fault of the live feed: one warn line, its message scrubbed of uuids (no session or ticket named). */
export function feedErrorLog(logger: Logger) {
  const log = logger.child({ component: 'ticket-feed' });
  return (error: unknown, what: string) => {
    const err = error instanceof Error ? error : new Error(String(error));
    log.warn({ err: { type: err.name, message: scrubUuids(err.message) } }, what);
  };
}

/** A stream cut for not reading: one warn line each (streams are capped, so lines are too). */
export function streamCutLog(logger: Logger) {
  const log = logger.child({ component: 'ticket-feed' });
  return (info: { bufferedBytes: number; queuedEvents: number }) =>
    log.warn(info, 'ticketUpdated stream cut: its client does not read (STREAM_MAX_BUFFERED_BYTES)');
}

/**
 * Redis coming and going: one line when it stops answering (closed, refused or timing out), with the
 * fault as an Error, and one when it answers again; never one per failed command.
 */
export function redisStateLog(logger: Logger) {
  const log = logger.child({ component: 'redis' });
  let connected = false;
  return (up: boolean, error?: Error) => {
    if (up) {
      log.info(
        connected
          ? 'redis available again: this instance catches up with a poll of its own, then shares again'
          : 'redis connected: pushes, job callbacks and live-update polls are shared with the other instances',
      );
      connected = true;
      return;
    }
    const cause = error ?? new Error('redis unavailable');
    const err = new Error(scrubUuids(cause.message));
    err.name = cause.name;
    err.stack = scrubUuids(cause.stack ?? '');
    log.warn({ err }, 'redis unavailable: this instance polls and pushes on its own until it is back');
  };
}

/** Logs an error the caller only sees as "Unexpected error.", with its request, scrubbed. */
export function reportMasked(logger: Logger) {
  return (error: unknown, scope: RequestScope | undefined) => {
    const original = (error as { originalError?: unknown }).originalError ?? error;
    const err = original instanceof Error ? original : new Error(String(original));
    logger.error(
      {
        reqId: scope?.id,
        operation: scope?.operation,
        err: {
          type: err.name,
          message: scrub(err.message, scope?.session),
          stack: scrub(err.stack ?? '', scope?.session),
        },
      },
      'unexpected error, masked from the caller',
    );
  };
}

/**
 * The gateway's observability hooks: the request scope's plugin (then tracing's: the scope carries
 * the operation's span), upstream calls and job waits counted, and every log adapter above.
 */
export function observedGateway(
  logger: Logger,
  metrics: Metrics,
  identified: IdentifiedSessions,
  onMasked: (error: unknown, scope: RequestScope | undefined) => void,
  tracer: Tracing | undefined,
): GatewayDeps {
  return {
    plugins: [createScopePlugin(onMasked), ...(tracer ? [tracer.plugin] : [])],
    ...upstreamObservers(logger, metrics, identified),
    tracer: tracer?.upstream,
    logging: yogaLogger(logger),
    onFeedError: feedErrorLog(logger),
    onStreamCut: streamCutLog(logger),
    onRedisState: redisStateLog(logger),
    onRedisRejected: (reason) => metrics.onRedisRejected(reason),
  };
}
