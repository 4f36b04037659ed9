/**
 * ZStack's query syntax (protocol section 5): `q=` conditions with the first-operator-found parsing
 * quirk, SQL-LIKE matching, limit/start/count/replyWithCount/sort/fields.
 */
import { ApiError, FreeJson, javaDate, RestError, zonedToEpoch } from './render.js';

export type FieldType = 'string' | 'int' | 'bool' | 'date' | 'json' | { nested: QuerySchema };

export interface QuerySchema {
  /** The Java inventory class named in `schema` maps. */
  className: string;
  fields: Record<string, FieldType>;
}

/** An inventory before rendering: dates as epoch ms, free-form JSON as plain values. */
export type Row = Record<string, unknown>;

/** `application/x-www-form-urlencoded` decoding, as a servlet does: `+` is a space. */
export function parseQueryString(qs: string): [string, string][] {
  const out: [string, string][] = [];
  if (qs === '') return out;
  for (const piece of qs.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? '' : piece.slice(eq + 1);
    out.push([formDecode(rawKey), formDecode(rawValue)]);
  }
  return out;
}

function formDecode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new RestError(400, `invalid URL encoding in query string: ${s}`);
  }
}

// The order matters: ZStack tries them in this order with `cond.contains(op)` (RestServer L1053-1072).
const OPERATORS = ['!=', '>=', '<=', '!?=', '!~=', '~=', '?=', '=', '>', '<', 'is null', 'not null'] as const;
type Operator = (typeof OPERATORS)[number];

/** Each operator's QueryOp, whose toString() ZStack's 400 texts print. */
const QUERY_OP: Record<Operator, string> = {
  '!=': '!=',
  '>=': '>=',
  '<=': '<=',
  '!?=': 'not in',
  '!~=': 'not like',
  '~=': 'like',
  '?=': 'in',
  '=': '=',
  '>': '>',
  '<': '<',
  'is null': 'is null',
  'not null': 'is not null',
};

export interface Condition {
  name: string;
  op: Operator;
  value?: string;
}

export interface QueryRequest {
  conditions: Condition[];
  limit: number;
  start: number;
  count: boolean;
  replyWithCount: boolean;
  sort?: { field: string; desc: boolean };
  fields?: string[];
  /** A system-tag filter `filterType:condition(s)` (QueryFacadeImpl L474). */
  filterName?: string;
}

/**
 * commons-lang `StringUtils.splitByWholeSeparator(s, sep, 2)`, which RestServer splits a condition
 * with: empty pieces between separators (a leading one included) are dropped, yet a trailing
 * separator still leaves an empty last piece. So `=x` is one piece, `a=` is `a` and ``, `a==x` is `a`, `x`.
 */
function splitByWholeSeparator2(s: string, sep: string): string[] {
  const out: string[] = [];
  let pieces = 0;
  let beg = 0;
  let end = 0;
  while (end < s.length) {
    end = s.indexOf(sep, beg);
    if (end < 0) {
      out.push(s.slice(beg));
      end = s.length;
    } else if (end > beg) {
      pieces += 1;
      if (pieces === 2) {
        out.push(s.slice(beg));
        end = s.length;
      } else {
        out.push(s.slice(beg, end));
        beg = end + sep.length;
      }
    } else {
      beg = end + sep.length;
    }
  }
  return out;
}

/** RestServer's parsing of one `q=`: a plain-text 400 only for no operator or not two pieces. */
export function parseCondition(cond: string): Condition {
  const op = OPERATORS.find((o) => cond.includes(o));
  if (op === undefined) {
    throw new RestError(
      400,
      `Invalid query parameter. The '${cond}' in the parameter[q] doesn't contain any query operator. Valid query operators are [${OPERATORS.join(', ')}]`,
    );
  }
  const pieces = splitByWholeSeparator2(cond, op);
  // An empty name is not refused here: ZQL refuses it later, as an unknown field.
  const name = (pieces[0] ?? '').trim();
  if (op === 'is null' || op === 'not null') return { name, op };
  if (pieces.length !== 2) {
    throw new RestError(
      400,
      `Invalid query parameter. The '${cond}' in parameter[q] is not a key-value pair split by ${QUERY_OP[op]}`,
    );
  }
  // The value is deliberately not trimmed (ZStack trims only the name); it may be empty.
  return { name, op, value: pieces[1] as string };
}

// Integer.valueOf: an optional sign and digits within int range; negative values pass (ZQL fails on them later).
function parseInteger(name: string, v: string): number {
  const n = Number(v);
  if (!/^[+-]?\d+$/.test(v) || n < -2147483648 || n > 2147483647) {
    throw new RestError(400, `Invalid query parameter. '${name}' must be an integer`);
  }
  return n;
}

/**
 * Java's `String.split(sep)`: trailing empty strings are removed (so `","` gives none), but an empty
 * input gives one empty string and empty pieces in the middle stay.
 */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  if (s === '') return parts;
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * RestServer.handleQueryApi: throws RestError (plain-text 400) for what the REST layer itself
 * rejects. Names and every value but q's are trimmed (L1102); an empty name is taken as `q`
 * (`"q".startsWith(varname)`).
 */
export function parseQueryRequest(pairs: [string, string][]): QueryRequest {
  // Every parameter but q is read as its first value (`e.getValue()[0]`): a repeat is no error.
  const first = new Map<string, string>();
  const conds = new Set<string>();
  for (const [rawKey, v] of pairs) {
    const k = rawKey.trim();
    if ('q'.startsWith(k)) conds.add(v);
    else if (!first.has(k)) first.set(k, v.trim());
  }
  const one = (name: string): string | undefined => first.get(name);
  const req: QueryRequest = {
    conditions: [...conds].map(parseCondition),
    limit: 1000,
    start: 0,
    // Java's Boolean.parseBoolean: anything but "true" (any case) is false, never an error.
    count: one('count')?.toLowerCase() === 'true',
    replyWithCount: one('replyWithCount')?.toLowerCase() === 'true',
  };
  const limit = one('limit');
  if (limit !== undefined) req.limit = parseInteger('limit', limit);
  const start = one('start');
  if (start !== undefined) req.start = parseInteger('start', start);
  const filterName = one('filterName');
  if (filterName !== undefined && filterName !== '') req.filterName = filterName;
  const sort = one('sort');
  if (sort !== undefined) {
    if (sort.startsWith('-')) req.sort = { field: sort.replace(/^-+/, '').trim(), desc: true };
    else if (sort.startsWith('+')) req.sort = { field: sort.replace(/^\++/, '').trim(), desc: false };
    else req.sort = { field: sort, desc: false };
  }
  const fields = one('fields');
  if (fields !== undefined) {
    // Pieces are trimmed but empty ones stay: `fields=` and `uuid,,name` reach ZQL, which refuses them.
    const list = javaSplit(fields, ',').map((f) => f.trim());
    if (list.length === 0) throw new RestError(400, "Invalid query parameter. 'fields' contains zero field");
    req.fields = list;
  }
  return req;
}

/**
 * What ZQL refuses (an unknown field, a value it cannot convert, a bad sort) is a CloudRuntimeException
 * that QueryFacadeImpl.handle (L379) wraps in another: SYS.1000 (ErrorFacade.throwableToInternalError),
 * details the wrapped exception's toString().
 */
function zqlError(message: string): ApiError {
  return new ApiError('SYS.1000', `org.zstack.header.exception.CloudRuntimeException: ${message}`);
}

function unknownField(schema: QuerySchema, name: string): ApiError {
  // ZQLMetadata.FieldChainQuery.verify (L173): `%s` of a Class prints "class <name>".
  return zqlError(`inventory class[class ${schema.className}] not having field[${name}]`);
}

function internalError(message: string): ApiError {
  return new ApiError('SYS.1000', `java.lang.IllegalArgumentException: ${message}`);
}

interface Resolved {
  type: Exclude<FieldType, { nested: QuerySchema }>;
  path: string[];
}

function resolveField(schema: QuerySchema, name: string): Resolved {
  const path = name.split('.');
  let current = schema;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as string;
    const t = Object.hasOwn(current.fields, seg) ? current.fields[seg] : undefined;
    if (t === undefined) throw unknownField(current, seg);
    const last = i === path.length - 1;
    if (typeof t === 'object') {
      // INFERRED wording: ZQL cannot compare a whole nested inventory.
      if (last) throw zqlError(`field[${name}] is a nested inventory, name one of its fields`);
      current = t.nested;
      continue;
    }
    // Free-form JSON is a text column to the database: you cannot reach into it.
    if (!last) throw unknownField(current, path[i + 1] as string);
    return { type: t, path };
  }
  throw unknownField(schema, name);
}

function leafValues(row: Row, path: string[]): unknown[] {
  let values: unknown[] = [row];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const v of values) {
      const child = v !== null && typeof v === 'object' ? (v as Row)[seg] : undefined;
      if (Array.isArray(child)) next.push(...child);
      else next.push(child);
    }
    values = next;
  }
  return values;
}

function convert(
  field: string,
  type: Resolved['type'],
  raw: string,
  timeZone: string,
): string | number | boolean {
  switch (type) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^[+-]?\d+(\.\d+)?$/.test(raw.trim())) throw zqlError(`invalid value[${raw}] for field[${field}]`);
      return Number(raw);
    }
    case 'bool': {
      const l = raw.toLowerCase();
      if (l !== 'true' && l !== 'false') throw zqlError(`invalid value[${raw}] for field[${field}]`);
      return l === 'true';
    }
    case 'date': {
      if (/^\d+$/.test(raw)) return Number(raw);
      const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(raw);
      if (!m) throw zqlError(`invalid value[${raw}] for field[${field}]`);
      const [y, mo, day, h, mi, sec] = m.slice(1).map((x) => Number(x ?? 0));
      const wall = Date.UTC(y ?? 0, (mo ?? 1) - 1, day ?? 1, h ?? 0, mi ?? 0, sec ?? 0);
      return zonedToEpoch(wall, timeZone);
    }
    case 'json':
      throw zqlError(`field[${field}] cannot be compared`);
  }
}

/**
 * MySQL's default collation for ZStack's `DEFAULT CHARSET=utf8` tables (utf8_general_ci): letters
 * compare without case or accents. An approximation: Unicode lower case of the NFD form without
 * combining marks.
 */
export function collationKey(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** `=`, `<`, IN… under a PAD SPACE collation: trailing spaces do not count (LIKE does count them). */
function padKey(s: string): string {
  return collationKey(s).replace(/ +$/, '');
}

function likeToRegExp(pattern: string): RegExp {
  let src = '';
  for (const ch of collationKey(pattern)) {
    if (ch === '%') src += '.*';
    else if (ch === '_') src += '.';
    else src += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}

type Predicate = (row: Row) => boolean;

/** Text compares under the collation; numbers, booleans and dates as they are. */
function comparable(v: unknown): unknown {
  return typeof v === 'string' ? padKey(v) : v;
}

function compile(schema: QuerySchema, cond: Condition, timeZone: string): Predicate {
  const { type, path } = resolveField(schema, cond.name);
  const present = (v: unknown) => v !== null && v !== undefined;
  if (cond.op === 'is null') return (row) => leafValues(row, path).some((v) => !present(v));
  if (cond.op === 'not null') return (row) => leafValues(row, path).some(present);
  const raw = cond.value as string;
  let test: (v: unknown) => boolean;
  switch (cond.op) {
    case '?=':
    case '!?=': {
      const set = raw.split(',').map((s) => comparable(convert(cond.name, type, s, timeZone)));
      const negate = cond.op === '!?=';
      test = (v) => set.includes(comparable(v) as never) !== negate;
      break;
    }
    case '~=':
    case '!~=': {
      const re = likeToRegExp(raw);
      const negate = cond.op === '!~=';
      test = (v) => re.test(collationKey(String(v))) !== negate;
      break;
    }
    default: {
      const x = comparable(convert(cond.name, type, raw, timeZone)) as string | number | boolean;
      const op = cond.op;
      test = (v) => {
        const a = comparable(v) as string | number | boolean;
        switch (op) {
          case '=':
            return a === x;
          case '!=':
            return a !== x;
          case '>':
            return a > x;
          case '<':
            return a < x;
          case '>=':
            return a >= x;
          case '<=':
            return a <= x;
        }
      };
    }
  }
  // SQL semantics: a NULL column satisfies no comparison, not even != or NOT IN.
  return (row) => leafValues(row, path).some((v) => present(v) && test(v));
}

/** Row to wire object: dates as Java strings, free-form JSON marked for Gson doubles. */
export function renderRow(schema: QuerySchema, row: Row, timeZone: string): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === null || v === undefined) continue;
    const t = schema.fields[k];
    if (t === 'date' && typeof v === 'number') out[k] = javaDate(v, timeZone);
    else if (t === 'json') out[k] = new FreeJson(v);
    else if (typeof t === 'object' && Array.isArray(v)) {
      out[k] = v.map((item) => renderRow(t.nested, item as Row, timeZone));
    } else out[k] = v;
  }
  return out;
}

function schemaMap(schema: QuerySchema, rendered: Row[]): Record<string, string> {
  const map: Record<string, string> = {};
  rendered.forEach((row, i) => {
    map[`inventories[${i}]`] = schema.className;
    for (const [k, t] of Object.entries(schema.fields)) {
      if (typeof t !== 'object' || !Array.isArray(row[k])) continue;
      (row[k] as unknown[]).forEach((_, j) => {
        map[`inventories[${i}].${k}[${j}]`] = t.nested.className;
      });
    }
  });
  return map;
}

function compareValues(a: unknown, b: unknown): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? -1 : 1; // MySQL sorts NULL first when ascending
  // ORDER BY on a text column follows the collation too: no case, no accents.
  const x = comparable(a) as string | number;
  const y = comparable(b) as string | number;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Runs a parsed query; throws ApiError (503) for what ZQL rejects. Returns the reply body. */
export function runQuery(schema: QuerySchema, rows: Row[], req: QueryRequest, timeZone: string): Row {
  // QueryFacadeImpl builds the ZQL text first: a malformed filterName fails before ZQL runs (L474,
  // L517-521). No QueryBelongFilter applies to ticket inventories, so every well-formed one is unknown.
  if (req.filterName !== undefined) {
    if (javaSplit(req.filterName, ':').length < 2) {
      throw new ApiError('SYS.1007', 'filterName must be formatted as [filterType:condition(s)]');
    }
    throw zqlError(`unable to find QueryBelongFilter with type[${req.filterName}]`);
  }
  const predicates = req.conditions.map((c) => compile(schema, c, timeZone));
  let matched = rows.filter((r) => predicates.every((p) => p(r)));
  if (req.count) return { total: matched.length, schema: {} };
  if (req.sort) {
    const { field, desc } = req.sort;
    const t = Object.hasOwn(schema.fields, field) ? schema.fields[field] : undefined;
    if (t === undefined || typeof t === 'object' || t === 'json') {
      throw t === undefined
        ? unknownField(schema, field)
        : zqlError(`cannot sort by field[${field}] of inventory[class ${schema.className}]`);
    }
    matched = matched
      .map((r, i) => ({ r, i }))
      .sort((a, b) => compareValues(a.r[field], b.r[field]) * (desc ? -1 : 1) || a.i - b.i)
      .map((x) => x.r);
  }
  const fields = req.fields;
  for (const f of fields ?? []) {
    if (!Object.hasOwn(schema.fields, f)) {
      throw unknownField(schema, f);
    }
  }
  // ZQL hands limit and offset to JPA's setMaxResults/setFirstResult, which refuse negatives with an
  // IllegalArgumentException; the query service reports that as an internal error.
  // Hibernate 5.3.26 (ZStack's pom.xml), AbstractProducedQuery.setMaxResults/setFirstResult.
  if (req.limit < 0) throw internalError('max-results cannot be negative');
  if (req.start < 0) throw internalError(`first-result value cannot be negative : ${req.start}`);
  const total = matched.length;
  const page = matched.slice(req.start, req.start + req.limit);
  let rendered = page.map((r) => renderRow(schema, r, timeZone));
  if (fields) {
    rendered = rendered.map((r) => Object.fromEntries(fields.filter((f) => f in r).map((f) => [f, r[f]])));
  }
  const body: Row = { inventories: rendered };
  if (req.replyWithCount) body.total = total;
  body.schema = schemaMap(schema, rendered);
  return body;
}
