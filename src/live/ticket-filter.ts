/**
 * What one `ticketUpdated` stream watches, matched in memory against the tickets a session's one poll
 * returned. Only top-level string fields are read: nothing here walks ticket data (an `apiBody`
 * nested thousands deep costs the same as a flat one).
 */
import type { ApiTicket } from '../zstack/types.js';

/** A stream's filter; every given part must match (AND), as TicketWhere does at ZStack. */
export interface TicketFilter {
  /** Ticket uuids (lowercase); undefined = any. */
  uuids?: ReadonlySet<string>;
  /** ZStack statuses (`Pending`, `Rejected`…); undefined = any. */
  statuses?: ReadonlySet<string>;
  /** The name, matched as ZStack's default MySQL collation matches `name=`: without case or accents. */
  name?: string;
  /** Literal text the name contains, matched like ZStack's `name~=%text%`: without case or accents. */
  nameContains?: string;
  ticketTypeUuid?: string;
  flowCollectionUuid?: string;
  accountSystemType?: string;
}

function field(ticket: ApiTicket, key: string): unknown {
  return (ticket as unknown as Record<string, unknown>)[key];
}

/** Whether the ticket matches the filter; a field of an unexpected type never matches. */
export function ticketMatches(filter: TicketFilter, ticket: ApiTicket): boolean {
  const uuid = field(ticket, 'uuid');
  if (typeof uuid !== 'string') return false;
  if (filter.uuids !== undefined && !filter.uuids.has(uuid.toLowerCase())) return false;
  if (filter.statuses !== undefined) {
    const status = field(ticket, 'status');
    if (typeof status !== 'string' || !filter.statuses.has(status)) return false;
  }
  if (filter.name !== undefined) {
    const name = field(ticket, 'name');
    if (typeof name !== 'string' || padFold(name) !== padFold(filter.name)) return false;
  }
  if (filter.nameContains !== undefined) {
    const name = field(ticket, 'name');
    if (typeof name !== 'string' || !fold(name).includes(fold(filter.nameContains))) return false;
  }
  if (
    filter.ticketTypeUuid !== undefined &&
    !sameUuid(field(ticket, 'ticketTypeUuid'), filter.ticketTypeUuid)
  )
    return false;
  if (
    filter.flowCollectionUuid !== undefined &&
    !sameUuid(field(ticket, 'flowCollectionUuid'), filter.flowCollectionUuid)
  )
    return false;
  if (
    filter.accountSystemType !== undefined &&
    field(ticket, 'accountSystemType') !== filter.accountSystemType
  )
    return false;
  return true;
}

/**
 * Text as ZStack's tables compare it (`DEFAULT CHARSET=utf8`, MySQL's default utf8_general_ci): no
 * case, no accents. So a stream's `name`/`nameContains` picks the same tickets a `tickets` query does.
 */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** `=` under a PAD SPACE collation: trailing spaces do not count. */
function padFold(s: string): string {
  return fold(s).replace(/ +$/, '');
}

function sameUuid(value: unknown, uuid: string): boolean {
  return typeof value === 'string' && value.toLowerCase() === uuid;
}

/** Top-level fields whose change is a change of the ticket (ZStack also moves lastOpDate on every write). */
const FINGERPRINT_FIELDS = ['lastOpDate', 'status', 'currentFlowUuid', 'name', 'description'] as const;

/** A flat fingerprint of the ticket's state: top-level scalars only, never its nested JSON. */
export function ticketFingerprint(ticket: ApiTicket): string {
  let out = '';
  for (const key of FINGERPRINT_FIELDS) {
    const value = field(ticket, key);
    out += `${typeof value === 'string' || typeof value === 'number' ? String(value) : ''}\u0000`;
  }
  return out;
}

const MONTHS: Readonly<Record<string, string>> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};

/** Java 8 `Jun 7, 2017 9:20:28 PM`, JDK 9+ `Jun 7, 2017, 9:20:28 PM` (any space before AM/PM), or 24-hour. */
const JAVA_DATE =
  /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})(?:[\s\u202f\u00a0]?([AP]M))?$/;

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * A ZStack date string as the `yyyy-MM-dd HH:mm:ss` value ZStack's query conditions take, in the same
 * (ZStack's) zone: a textual rewrite, so no time zone is needed. Undefined when it is not a date.
 * The result sorts like the instant it names, so watermarks are compared as text.
 */
export function queryDateOf(javaDate: unknown): string | undefined {
  if (typeof javaDate !== 'string') return undefined;
  const m = JAVA_DATE.exec(javaDate);
  if (m === null) return undefined;
  const month = MONTHS[m[1] as string];
  if (month === undefined) return undefined;
  let hour = Number(m[4]);
  if (m[7] !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (m[7] === 'PM' ? 12 : 0);
  }
  if (hour > 23) return undefined;
  return `${m[3]}-${month}-${pad(Number(m[2]))} ${pad(hour)}:${m[5]}:${m[6]}`;
}
