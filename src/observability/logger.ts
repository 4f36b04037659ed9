import { type DestinationStream, destination as fileDestination, type Logger, pino } from 'pino';
import { redactCredentials } from './redact.js';

export type { Logger };

/**
 * Field paths pino replaces with "[redacted]" wherever they appear. Our own log calls never pass
 * headers or sessions; this is the net under anyone who later logs a request or an options object.
 */
const REDACT = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  'session',
  '*.session',
  'sessionUuid',
  '*.sessionUuid',
  'password',
  '*.password',
  'redisUrl',
  '*.redisUrl',
  'redisKeySecret',
  '*.redisKeySecret',
];

/**
 * Where each logger made by createLogger writes: for lines built without pino (lineWriter), and
 * for flushLogs when the destination can be flushed synchronously (stdout's).
 */
const destinations = new WeakMap<Logger, { write(line: string): unknown; flushSync?(): void }>();

/**
 * Lines go out together once this many bytes have gathered, or every BATCH_MS. sonic-boom's periodic
 * flush writes even when nothing gathered (an empty write through the thread pool): 100 ms keeps an
 * idle gateway at 10 such wake-ups a second, and a line at most 100 ms late.
 */
const BATCH_BYTES = 8 * 1024;
const BATCH_MS = 100;

/**
 * The gateway's structured logger (pino JSON lines). Without `destination` it writes to stdout
 * asynchronously and in batches: pino's own destination (sonic-boom) writing once BATCH_BYTES have
 * gathered and every BATCH_MS, instead of one hand-off to libuv's thread pool per line (a thread
 * wake-up and a context switch each). A line is at most BATCH_MS late; flushLogs writes out the
 * rest. `destination` lets tests capture lines.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'zstack-graphql' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) {
    const logger = pino(options, destination);
    destinations.set(logger, destination);
    return logger;
  }
  const stdout = fileDestination({ dest: 1, sync: false, minLength: BATCH_BYTES, periodicFlush: BATCH_MS });
  const logger = pino(options, stdout);
  destinations.set(logger, stdout);
  return logger;
}

/** Writes one line whose members (`"key":value,...`, serialized by the caller) are given. */
export type LineWriter = (level: 'info' | 'warn', members: string, msg: string) => void;

/**
 * A writer for the one line logged on every request, in pino's format (level number, ISO time,
 * the logger's bindings, the members, msg) but serialized by the caller, who knows each member's
 * type: pino's generic serializer cost several times more per line. Redaction does not apply: the
 * caller writes fixed members, none of them a redacted path. A logger not made by createLogger is
 * written to through pino.
 */
export function lineWriter(logger: Logger): LineWriter {
  const destination = destinations.get(logger);
  if (destination === undefined) {
    return (level, members, msg) => logger[level](JSON.parse(`{${members}}`), msg);
  }
  const bindings = JSON.stringify(logger.bindings()).slice(1, -1);
  const prefix = bindings === '' ? '' : `${bindings},`;
  const levels = { info: logger.levels.values.info, warn: logger.levels.values.warn };
  return (level, members, msg) => {
    destination.write(
      `{"level":${levels[level]},"time":"${new Date().toISOString()}",${prefix}${members},"msg":${JSON.stringify(msg)}}\n`,
    );
  };
}

/**
 * Writes out every line still buffered, before the process exits (shutdown, a fatal error): an
 * asynchronous destination would otherwise lose what it has not written yet.
 */
export function flushLogs(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync?.();
  } catch {
    // stdout closed (a pipe whose reader went away): nothing left to write to.
  }
}

const BEARER = /\b(OAuth|Bearer)\s+[0-9A-Za-z-]+/gi;
const SESSION_PATH = /\/sessions\/[0-9A-Fa-f]{32}/g;

/**
 * Free text on its way to a log line (an unexpected error's message or stack): removes the given
 * session uuid in any case, anything that looks like an Authorization value, session uuids in
 * ZStack paths and URL credentials (a library's message repeating REDIS_URL).
 */
export function scrub(text: string, session: string | undefined): string {
  let out = redactCredentials(text)
    .replace(BEARER, '$1 [redacted]')
    .replace(SESSION_PATH, '/sessions/[redacted]');
  if (session !== undefined && /^[0-9A-Fa-f]{32}$/.test(session)) {
    out = out.replace(new RegExp(session, 'gi'), '[redacted]');
  }
  return out;
}

const UUID = /\b[0-9A-Fa-f]{32}\b/g;

/** scrub() for text that may hold anyone's session: every 32-hex uuid is removed. */
export function scrubUuids(text: string): string {
  return scrub(text, undefined).replace(UUID, '[redacted]');
}
