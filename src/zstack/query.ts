/**
 * Builds ZStack query strings (`q=`, `limit`, `sort`, ...) that ZStack parses back exactly as meant.
 *
 * ZStack's RestServer finds a condition's operator by trying the tokens below in order and taking the
 * first one contained ANYWHERE in `field + op + value`, then splits with commons-lang
 * `splitByWholeSeparator(cond, op, 2)`, which silently drops separators repeated at the split point.
 * QueryFacade then writes the value into ZQL as `'value'` without escaping, splits IN lists on `,`,
 * and hands LIKE values to SQL LIKE as they are. Whatever cannot survive that is refused here.
 */

export type QueryOp =
  | '='
  | '!='
  | '?='
  | '!?='
  | '~='
  | '!~='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'is null'
  | 'not null';

export interface QueryCondition {
  field: string;
  op: QueryOp;
  value?: string | readonly string[];
}

export interface QueryParams {
  conditions?: QueryCondition[];
  limit?: number;
  start?: number;
  replyWithCount?: boolean;
  count?: boolean;
  sort?: { field: string; direction: 'asc' | 'desc' };
  fields?: readonly string[];
}

/** A value (or parameter) that cannot be sent so that ZStack matches it literally. */
export class QueryValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryValueError';
  }
}

/** ZStack's operator detection order (RestServer.QUERY_OP_MAPPING). */
const OPERATOR_ORDER: readonly QueryOp[] = [
  '!=',
  '>=',
  '<=',
  '!?=',
  '!~=',
  '~=',
  '?=',
  '=',
  '>',
  '<',
  'is null',
  'not null',
];

export const MAX_QUERY_VALUE_LENGTH = 255;

/** The most uuids the gateway puts in one `uuid?=` condition (one upstream call). */
export const MAX_UUIDS_PER_QUERY = 100;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function checkItem(field: string, value: string): void {
  if (value.length === 0) throw new QueryValueError(`The filter on ${field} must not be empty.`);
  if (value.length > MAX_QUERY_VALUE_LENGTH) {
    throw new QueryValueError(`The filter on ${field} is longer than ${MAX_QUERY_VALUE_LENGTH} characters.`);
  }
  if (CONTROL_CHARS.test(value)) {
    throw new QueryValueError(`The filter on ${field} must not contain control characters.`);
  }
  // ZQL quotes values as '...' with no escaping, so a quote or backslash would change the query.
  if (value.includes("'"))
    throw new QueryValueError(`The filter on ${field} must not contain a single quote (').`);
  if (value.includes('\\'))
    throw new QueryValueError(`The filter on ${field} must not contain a backslash (\\).`);
}

function encode(field: string, text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new QueryValueError(`The filter on ${field} is not well-formed Unicode text.`);
  }
}

function conditionText(cond: QueryCondition): string {
  const { field, op } = cond;
  const rank = OPERATOR_ORDER.indexOf(op);
  if (rank < 0) throw new QueryValueError(`Unknown query operator for ${field}.`);
  let text: string;
  if (op === 'is null' || op === 'not null') {
    if (cond.value !== undefined) throw new QueryValueError(`The ${op} filter on ${field} takes no value.`);
    text = `${field} ${op}`;
  } else {
    const value = cond.value;
    if (value === undefined) throw new QueryValueError(`The filter on ${field} needs a value.`);
    let joined: string;
    if (op === '?=' || op === '!?=') {
      const items = typeof value === 'string' ? [value] : value;
      if (items.length === 0) throw new QueryValueError(`The list filter on ${field} must not be empty.`);
      for (const item of items) {
        checkItem(field, item);
        if (item.includes(',')) {
          throw new QueryValueError(`An item of the list filter on ${field} must not contain a comma.`);
        }
      }
      joined = items.join(',');
    } else {
      if (typeof value !== 'string')
        throw new QueryValueError(`The filter on ${field} takes a single value.`);
      checkItem(field, value);
      joined = value;
    }
    // splitByWholeSeparator treats `op op` as one separator, eating the value's leading token.
    if (joined.startsWith(op)) {
      throw new QueryValueError(`The filter on ${field} must not start with "${op}".`);
    }
    text = field + op + joined;
  }
  for (let i = 0; i < rank; i++) {
    const earlier = OPERATOR_ORDER[i] as QueryOp;
    if (text.includes(earlier)) {
      throw new QueryValueError(
        `The filter on ${field} must not contain "${earlier}": ZStack would read it as the query operator.`,
      );
    }
  }
  return text;
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new QueryValueError(`${name} must be a non-negative integer.`);
}

function checkName(name: string): void {
  if (name.length === 0 || name.includes(',') || /\s/.test(name)) {
    throw new QueryValueError(`Invalid field name "${name}".`);
  }
}

/** The encoded query string (no leading `?`), e.g. `q=uuid%3F%3Da%2Cb&limit=50`. */
export function buildQuery(params: QueryParams): string {
  const parts: string[] = [];
  if (params.conditions !== undefined) {
    for (const cond of params.conditions) {
      parts.push(`q=${encode(cond.field, conditionText(cond))}`);
    }
  }
  if (params.limit !== undefined) {
    checkCount('limit', params.limit);
    parts.push(`limit=${params.limit}`);
  }
  if (params.start !== undefined) {
    checkCount('start', params.start);
    parts.push(`start=${params.start}`);
  }
  if (params.count === true) parts.push('count=true');
  if (params.replyWithCount === true) parts.push('replyWithCount=true');
  if (params.sort !== undefined) {
    checkName(params.sort.field);
    // A raw `+` would decode to a space; %2B keeps the direction explicit.
    parts.push(
      `sort=${params.sort.direction === 'desc' ? '-' : '%2B'}${encodeURIComponent(params.sort.field)}`,
    );
  }
  if (params.fields !== undefined && params.fields.length > 0) {
    for (const f of params.fields) checkName(f);
    parts.push(`fields=${encodeURIComponent(params.fields.join(','))}`);
  }
  return parts.join('&');
}

/**
 * The `~=` pattern matching `text` anywhere. ZStack passes LIKE patterns through with no escape
 * support, so `%` and `_` cannot be matched literally and are refused.
 */
export function likeContains(text: string): string {
  if (text.includes('%') || text.includes('_')) {
    throw new QueryValueError('A text filter must not contain % or _ (ZStack cannot match them literally).');
  }
  return `%${text}%`;
}
