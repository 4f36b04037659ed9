/**
 * How ZStack puts things on the wire: Java 8 date strings, Gson's JSON (doubles in free-form maps,
 * HTML escaping on job bodies, nulls omitted) and ErrorCode bodies.
 */

const dateFormatters = new Map<string, Intl.DateTimeFormat>();

function dateFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      second: '2-digit',
      hour12: true,
    });
    dateFormatters.set(timeZone, f);
  }
  return f;
}

/** Java 8 `DateFormat.getDateTimeInstance(DEFAULT, DEFAULT, Locale.US)`: `Jun 7, 2017 9:20:28 PM`. */
export function javaDate(ms: number, timeZone: string): string {
  const p: Record<string, string> = {};
  for (const part of dateFormatter(timeZone).formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.month} ${p.day}, ${p.year} ${p.hour}:${p.minute}:${p.second} ${p.dayPeriod}`;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `ms`, in milliseconds. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, f);
  }
  const name = f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

/** `+08:00`-style offset of the zone at `ms`. */
export function offsetString(ms: number, timeZone: string): string {
  const off = zoneOffsetMs(ms, timeZone);
  const abs = Math.abs(off) / 60_000;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${off < 0 ? '-' : '+'}${hh}:${mm}`;
}

/** Wall-clock time in `timeZone` to epoch ms (two passes settle DST edges well enough). */
export function zonedToEpoch(wall: number, timeZone: string): number {
  const first = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(first, timeZone);
}

/** Marks a free-form JSON value (a Java Map): Gson renders every number in it as a double. */
export class FreeJson {
  constructor(readonly value: unknown) {}
}

/** Java's `Double.toString`: `1.0`, `0.5`, `1.56402555717E12`, `1.0E-4`. */
export function javaDouble(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  const abs = Math.abs(n);
  if (abs === 0 || (abs >= 1e-3 && abs < 1e7)) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '0', exp = '0'] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exp)}`;
}

const HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '=': '\\u003d',
  "'": '\\u0027',
};

function quote(s: string, htmlEscape: boolean): string {
  let out = JSON.stringify(s)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  if (htmlEscape) out = out.replace(/[<>&=']/g, (c) => HTML_ESCAPES[c] ?? c);
  return out;
}

/**
 * Gson-style serializer. Object fields that are null/undefined are omitted (Gson's default); typed
 * numbers are written as JS writes them unless they sit inside a FreeJson, where they become doubles.
 */
export function gsonStringify(value: unknown, htmlEscape = false): string {
  return write(value, htmlEscape, false);
}

function write(value: unknown, html: boolean, free: boolean): string {
  if (value instanceof FreeJson) return write(value.value, html, true);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (free || !Number.isInteger(value)) return javaDouble(value);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return quote(value, html);
  if (Array.isArray(value)) return `[${value.map((v) => write(v, html, free)).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      parts.push(`${quote(k, html)}:${write(v, html, free)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

/** Fixed descriptions from ZStack's conf/errorCodes/*.xml. */
export const ERROR_DESCRIPTIONS: Record<string, string> = {
  'ID.1000': 'Unable to authenticate a user',
  'ID.1001': 'The session is invalid, either wrong session id or the session has been expired',
  'ID.1002': "The user doesn't have permission to perform the operation",
  'ID.1003': 'The user exceeds a quota of a resource',
  'SYS.1000': 'An internal error happened in system',
  'SYS.1001': 'A message or a operation timeout',
  'SYS.1003': 'A resource can not be found',
  'SYS.1006': 'An operation failed',
  'SYS.1007': 'One or more API argument is invalid',
  'SYS.1008': 'Unknown message, no service can deal with the message',
  'SYS.1010': 'Management server is not ready to serve',
  'HOST_ALLOCATION.1000': 'No available host found',
};

export interface ErrorCodeBody {
  code: string;
  description?: string;
  details?: string;
  cost?: string;
  cause?: ErrorCodeBody;
}

/** An API-level failure: becomes a sync 503 or a failed job. */
export class ApiError extends Error {
  readonly errorCode: ErrorCodeBody;
  constructor(code: string, details: string, cause?: ErrorCodeBody) {
    super(`${code}: ${details}`);
    this.errorCode = { code, description: ERROR_DESCRIPTIONS[code], details, cost: '0ms', cause };
  }
}

/** A REST-layer failure: a plain-text body with a 4xx/5xx status. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(text);
  }
}

export function errorBody(e: ErrorCodeBody): { error: ErrorCodeBody } {
  return { error: e };
}
