import type { ServerResponse } from 'node:http';
import type { ExecutionResult, GraphQLError } from 'graphql';
import { ErrorCode, maskError } from '../errors.js';
import { type FeedTimer, realTimer } from '../live/feed-schedule.js';
import { serializeResult } from './media.js';

/**
 * Apollo's multipart HTTP protocol for subscriptions (what Apollo Router serves, and what Apollo
 * Client's HttpLink, Apollo Kotlin and Apollo iOS speak): a POST whose Accept names
 * `multipart/mixed;subscriptionSpec=1.0` is answered with a `multipart/mixed` body, boundary
 * `graphql`, one `application/json` part per event, `{"payload": {data, errors}}`; a `{}` part every
 * few seconds of silence (a heartbeat: proxies keep the connection, clients ignore it); a failure of
 * the stream itself as `{"payload": null, "errors": […]}`, after which it ends; and the closing
 * boundary when the stream ends (the gateway drains, the source is done).
 *
 * Each part is written with the delimiter that ends it (`…{json}\r\n--graphql`), so a client parses
 * it as soon as it arrives rather than when the next one does; the closing `--` completes the last
 * delimiter.
 */

/** The heartbeat's period: a `{}` part once the stream has been silent this long (Apollo Router's 5 s). */
export const MULTIPART_HEARTBEAT_MS = 5000;

/** The response's media type (the boundary is ours to pick; `graphql` is what Apollo's clients expect). */
export const MULTIPART_SUBSCRIPTION_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"';

const DELIMITER = '\r\n--graphql';
const PART_HEADERS = '\r\ncontent-type: application/json\r\n\r\n';
const HEARTBEAT = `${PART_HEADERS}{}${DELIMITER}`;
const CLOSE = '--\r\n';

/** One event's part: the result as the spec serializes it, under `payload`. */
function eventPart(result: ExecutionResult): string {
  return `${PART_HEADERS}{"payload":${serializeResult(result)}}${DELIMITER}`;
}

/** The stream's own failure: no payload, the (masked) error, and the stream ends after it. */
function failurePart(error: GraphQLError): string {
  const errors = serializeResult({ errors: [error] });
  return `${PART_HEADERS}{"payload":null,${errors.slice(1, -1)}}${DELIMITER}`;
}

export interface MultipartOptions {
  /** Heartbeats' clock; real timers when unset (tests drive it by hand). */
  timer?: Pick<FeedTimer, 'setTimeout' | 'clearTimeout'>;
  /** Heartbeat period; MULTIPART_HEARTBEAT_MS when unset. */
  heartbeatMs?: number;
}

export interface MultipartHooks {
  /** The errors the client is sent (events' and the stream's failure), for the request's log line. */
  onErrors?(errors: readonly unknown[]): void;
  /** What the source threw when the client is sent "Unexpected error." instead (to be logged). */
  onThrown?(error: unknown): void;
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<ExecutionResult> =>
  typeof (v as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/**
 * Writes a result, or a stream of them, to `res` as Apollo's multipart subscription protocol, and
 * resolves once the response ended (or its connection closed). The slow-reader bound is the feed's
 * (the context's sink: STREAM_MAX_BUFFERED_BYTES), so events are written as they come; a heartbeat is
 * skipped while earlier bytes are still unsent (the connection is not idle then).
 */
export async function writeMultipart(
  res: ServerResponse,
  source: ExecutionResult | AsyncIterable<ExecutionResult>,
  options: MultipartOptions,
  hooks: MultipartHooks = {},
): Promise<void> {
  if (res.destroyed) {
    if (isAsyncIterable(source)) await source[Symbol.asyncIterator]().return?.();
    return;
  }
  res.writeHead(200, { 'content-type': MULTIPART_SUBSCRIPTION_TYPE, 'cache-control': 'no-cache' });
  // The opening delimiter goes with the headers: the client sees the stream open at once.
  res.write(DELIMITER);
  if (!isAsyncIterable(source)) {
    if (source.errors !== undefined) hooks.onErrors?.(source.errors);
    res.end(`${eventPart(source)}${CLOSE}`);
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  const timer = options.timer ?? realTimer;
  const period = options.heartbeatMs ?? MULTIPART_HEARTBEAT_MS;
  let heartbeat: unknown;
  const beat = () => {
    heartbeat = undefined;
    if (res.destroyed) return;
    if (res.writableLength === 0) res.write(HEARTBEAT);
    heartbeat = timer.setTimeout(beat, period);
  };
  const rearm = () => {
    if (heartbeat !== undefined) timer.clearTimeout(heartbeat);
    heartbeat = timer.setTimeout(beat, period);
  };
  // The client went away: the source is returned (the feed also ends it through the request's signal).
  const onClose = () => {
    if (heartbeat !== undefined) timer.clearTimeout(heartbeat);
    heartbeat = undefined;
    void Promise.resolve(iterator.return?.()).catch(() => {});
  };
  res.once('close', onClose);
  rearm();
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done || res.destroyed) break;
      if (step.value.errors !== undefined) hooks.onErrors?.(step.value.errors);
      res.write(eventPart(step.value));
      rearm();
    }
    if (!res.destroyed) res.end(CLOSE);
  } catch (error) {
    const masked = maskError(error) as GraphQLError;
    hooks.onErrors?.([masked]);
    if (masked.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR) hooks.onThrown?.(error);
    if (!res.destroyed) res.end(`${failurePart(masked)}${CLOSE}`);
  } finally {
    if (heartbeat !== undefined) timer.clearTimeout(heartbeat);
    heartbeat = undefined;
    res.off('close', onClose);
  }
}
