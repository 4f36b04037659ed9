/**
 * The shared log's entries (src/live/cluster.ts): what an entry says, its bounds, how one is split
 * into texts of at most MAX_ENTRY_BYTES, and how one read back is checked. No I/O.
 */

/**
 * One ticket's state as a change entry names it: what a receiver needs to decide whether one of its
 * streams may match (the fields stream filters read), to order states (lastOpDate), and to know it
 * has it already (`fp`, the state digest its own poll would compute). Never the ticket's data.
 */
export interface FeedChange {
  uuid: string;
  status?: string;
  name?: string;
  ticketTypeUuid?: string;
  flowCollectionUuid?: string;
  accountSystemType?: string;
  lastOpDate?: string;
  /** The state digest (see ticket-feed's stateDigest). */
  fp: string;
  /** A filter field was too long to carry: every stream of a matching uuid treats it as a match. */
  partial?: true;
}

/** One entry of the shared log. */
export interface FeedEntry {
  /** The session (its keyed hash) whose mutation or poll this is. */
  key: string;
  /**
   * `mutation`: a mutation through an instance left these tickets so (other sessions' streams that
   * match read them early); `poll`: a poll of the session found these changes.
   */
  kind: 'mutation' | 'poll';
  changes: FeedChange[];
  /** poll: the watermark the poll reached, once every change before it is in the log. */
  since?: string;
}

/** Largest entry appended: a poll's changes are split into entries of at most this size. */
export const MAX_ENTRY_BYTES = 16 * 1024;
/** A filter field longer than this is left out of a change (marked partial). */
const MAX_FIELD_CHARS = 1024;
const UUID = /^[0-9A-Za-z-]{1,64}$/;
const KEY = /^[0-9A-Za-z_-]{1,64}$/;
const QUERY_DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Stream ids `ms-seq` compared as numbers. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** A change as sent: filter fields too long to carry are left out and the change marked partial. */
export function boundedChange(change: FeedChange): FeedChange {
  const out: FeedChange = { uuid: change.uuid, fp: change.fp };
  for (const field of CHANGE_FIELDS) {
    const value = change[field];
    if (value === undefined) continue;
    if (value.length > MAX_FIELD_CHARS) out.partial = true;
    else out[field] = value;
  }
  if (change.partial) out.partial = true;
  return out;
}

export const CHANGE_FIELDS = [
  'status',
  'name',
  'ticketTypeUuid',
  'flowCollectionUuid',
  'accountSystemType',
  'lastOpDate',
] as const;

/**
 * An entry as appended: one or more texts of at most MAX_ENTRY_BYTES each, the changes in order, the
 * watermark (if any) only on the last, so it is read after every change before it.
 */
export function splitEntry(entry: FeedEntry, from: string): string[] {
  const texts: string[] = [];
  const head = (changes: string[], since?: string) =>
    `{"from":${JSON.stringify(from)},"key":${JSON.stringify(entry.key)},"kind":${JSON.stringify(entry.kind)}${
      since === undefined ? '' : `,"since":${JSON.stringify(since)}`
    },"changes":[${changes.join(',')}]}`;
  const base = Buffer.byteLength(head([], entry.since));
  let chunk: string[] = [];
  let size = base;
  for (const change of entry.changes) {
    const text = JSON.stringify(boundedChange(change));
    const bytes = Buffer.byteLength(text) + 1;
    if (chunk.length > 0 && size + bytes > MAX_ENTRY_BYTES) {
      texts.push(head(chunk));
      chunk = [];
      size = base;
    }
    chunk.push(text);
    size += bytes;
  }
  texts.push(head(chunk, entry.since));
  return texts;
}

/** A log entry read back, checked field by field; undefined when it is not one. */
export function parseEntry(m: unknown): (FeedEntry & { from: string }) | undefined {
  if (!isObject(m) || typeof m.from !== 'string' || typeof m.key !== 'string' || !KEY.test(m.key))
    return undefined;
  if (m.kind !== 'mutation' && m.kind !== 'poll') return undefined;
  if (!Array.isArray(m.changes)) return undefined;
  const changes: FeedChange[] = [];
  for (const c of m.changes) {
    if (!isObject(c) || typeof c.uuid !== 'string' || !UUID.test(c.uuid) || typeof c.fp !== 'string')
      return undefined;
    const change: FeedChange = { uuid: c.uuid, fp: c.fp };
    for (const field of CHANGE_FIELDS) {
      const value = c[field];
      if (value === undefined) continue;
      if (typeof value !== 'string') return undefined;
      change[field] = value;
    }
    if (c.partial === true) change.partial = true;
    changes.push(change);
  }
  const entry: FeedEntry & { from: string } = { from: m.from, key: m.key, kind: m.kind, changes };
  if (m.since !== undefined) {
    if (typeof m.since !== 'string' || !QUERY_DATE.test(m.since)) return undefined;
    entry.since = m.since;
  }
  return entry;
}
