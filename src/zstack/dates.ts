/**
 * ZStack renders dates with Java's default US DateFormat (`Jun 7, 2017 9:20:28 PM`) in the management
 * node's local time, with no zone in the string; the zone has to come from configuration or the
 * platform-timezone API.
 */

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Sept: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// Java 8 `MMM d, yyyy h:mm:ss a`, JDK 9+ (extra comma, maybe a (narrow) no-break space before AM/PM), 24h.
const JAVA_DATE =
  /^([A-Z][a-z]{2,3}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})(?:[ \u00a0\u202f]([AP]M))?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;
const OFFSET_ZONE = /^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$/;

const DAY_MS = 86_400_000;
const BUCKET_MS = 900_000;
const MAX_CACHED_BUCKETS = 50_000;

interface Zone {
  /** Set for fixed-offset zones; IANA zones use the formatter. */
  readonly fixedMs: number | undefined;
  readonly format: Intl.DateTimeFormat | undefined;
  /** Offset per 15-minute UTC bucket, only for buckets with no transition inside. */
  readonly buckets: Map<number, number>;
}

const zones = new Map<string, Zone>();

function fixedZone(ms: number): Zone {
  return { fixedMs: ms, format: undefined, buckets: new Map() };
}

function loadZone(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (zone !== undefined) return zone;
  const m = OFFSET_ZONE.exec(timeZone);
  if (timeZone === 'Z' || timeZone === 'UTC') {
    zone = fixedZone(0);
  } else if (m !== null) {
    const ms = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
    zone = fixedZone(m[1] === '-' ? -ms : ms);
  } else {
    // Throws RangeError for an unknown zone: a configuration error, not bad data.
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zone = { fixedMs: undefined, format, buckets: new Map() };
  }
  zones.set(timeZone, zone);
  return zone;
}

/** True when `timeZone` is an IANA name or a `+08:00`-style offset this module understands. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    loadZone(timeZone);
    return true;
  } catch {
    return false;
  }
}

function exactOffset(format: Intl.DateTimeFormat, utcMs: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const part of format.formatToParts(utcMs)) {
    switch (part.type) {
      case 'year':
        y = Number(part.value);
        break;
      case 'month':
        mo = Number(part.value);
        break;
      case 'day':
        d = Number(part.value);
        break;
      case 'hour':
        h = Number(part.value);
        break;
      case 'minute':
        mi = Number(part.value);
        break;
      case 'second':
        s = Number(part.value);
        break;
    }
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  return wall - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

function offsetAt(zone: Zone, utcMs: number): number {
  if (zone.fixedMs !== undefined) return zone.fixedMs;
  const format = zone.format as Intl.DateTimeFormat;
  const bucket = Math.floor(utcMs / BUCKET_MS);
  const cached = zone.buckets.get(bucket);
  if (cached !== undefined) return cached;
  const start = bucket * BUCKET_MS;
  const atStart = exactOffset(format, start);
  // Only a bucket without a transition inside may be cached; old LMT changes are not aligned.
  if (exactOffset(format, start + BUCKET_MS - 1000) !== atStart) return exactOffset(format, utcMs);
  if (zone.buckets.size >= MAX_CACHED_BUCKETS) zone.buckets.clear();
  zone.buckets.set(bucket, atStart);
  return atStart;
}

/**
 * The instant at which the wall clock in `zone` shows `wall` (a local time encoded as UTC ms).
 * An ambiguous time (DST ends) resolves to the earlier instant and a skipped one (DST starts) is
 * moved forward by the gap, as java.time does.
 */
function wallToInstant(zone: Zone, wall: number): number {
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  if (before === after) return wall - before;
  const early = wall - before;
  const late = wall - after;
  const earlyOk = offsetAt(zone, early) === before;
  const lateOk = offsetAt(zone, late) === after;
  if (earlyOk && lateOk) return Math.min(early, late);
  if (earlyOk) return early;
  if (lateOk) return late;
  return early;
}

function validWall(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (mo < 0 || mo > 11 || d < 1 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const wall = Date.UTC(y, mo, d, h, mi, s, ms);
  // Date.UTC rolls Feb 30 over to March; the day check refuses it.
  return new Date(wall).getUTCDate() === d ? wall : Number.NaN;
}

/**
 * Parses a ZStack date string: Java 8 `Jun 7, 2017 9:20:28 PM`, JDK 9+ `Jun 7, 2017, 9:20:28 PM`
 * (also with a no-break or narrow no-break space before AM/PM), 24-hour `Jun 7, 2017 21:20:28`, or
 * ISO-8601 (with an offset, or local when it has none). Local times are read in `timeZone`, an IANA
 * name (DST-correct) or an offset such as `+08:00`. Returns null when the text is not a date; throws
 * RangeError for an unknown zone.
 */
export function parseJavaDate(text: string, timeZone: string): Date | null {
  const zone = loadZone(timeZone);
  const java = JAVA_DATE.exec(text);
  if (java !== null) {
    const month = MONTHS[java[1] as string];
    if (month === undefined) return null;
    let hour = Number(java[4]);
    const ampm = java[7];
    if (ampm !== undefined) {
      if (hour < 1 || hour > 12) return null;
      hour = (hour % 12) + (ampm === 'PM' ? 12 : 0);
    }
    const wall = validWall(
      Number(java[3]),
      month,
      Number(java[2]),
      hour,
      Number(java[5]),
      Number(java[6]),
      0,
    );
    return Number.isNaN(wall) ? null : new Date(wallToInstant(zone, wall));
  }
  const iso = ISO_DATE.exec(text);
  if (iso === null) return null;
  const fraction = iso[7];
  const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const wall = validWall(
    Number(iso[1]),
    Number(iso[2]) - 1,
    Number(iso[3]),
    Number(iso[4]),
    Number(iso[5]),
    Number(iso[6]),
    ms,
  );
  if (Number.isNaN(wall)) return null;
  const offset = iso[8];
  if (offset === undefined) return new Date(wallToInstant(zone, wall));
  if (offset === 'Z') return new Date(wall);
  const sign = offset[0] === '-' ? -1 : 1;
  const digits = offset.replace(':', '');
  const offsetMs = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000;
  return new Date(wall - offsetMs);
}
