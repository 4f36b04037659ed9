import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueryCondition, QueryOp } from '../../src/zstack/query.js';
import { buildQuery, likeContains, QueryValueError } from '../../src/zstack/query.js';

const ZSTACK_ORDER = ['!=', '>=', '<=', '!?=', '!~=', '~=', '?=', '=', '>', '<', 'is null', 'not null'];

/** commons-lang StringUtils.splitByWholeSeparator(str, sep, max) with preserveAllTokens=false. */
function splitByWholeSeparator(str: string, sep: string, max: number): string[] {
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  let n = 0;
  while (end < str.length) {
    end = str.indexOf(sep, beg);
    if (end > -1) {
      if (end > beg) {
        n++;
        if (n === max) {
          end = str.length;
          out.push(str.slice(beg));
        } else {
          out.push(str.slice(beg, end));
          beg = end + sep.length;
        }
      } else {
        beg = end + sep.length;
      }
    } else {
      out.push(str.slice(beg));
      end = str.length;
    }
  }
  return out;
}

/** Java String.split(","): trailing empty strings removed. */
function javaSplitComma(s: string): string[] {
  const parts = s.split(',');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** What ZStack's RestServer + QueryFacade make of our query string's conditions. */
function zstackConditions(qs: string): { name: string; op: string; values?: string[] }[] {
  return qs
    .split('&')
    .filter((p) => p.startsWith('q='))
    .map((p) => decodeURIComponent(p.slice(2).replace(/\+/g, ' ')))
    .map((cond) => {
      const op = ZSTACK_ORDER.find((o) => cond.includes(o));
      if (op === undefined) throw new Error('400 no operator');
      const ks = splitByWholeSeparator(cond, op, 2);
      const name = (ks[0] ?? '').trim();
      if (op === 'is null' || op === 'not null') return { name, op };
      if (ks.length !== 2) throw new Error('400 not a key-value pair');
      const value = ks[1] as string;
      if (value.includes("'")) throw new Error('ZQL broken by a quote');
      return { name, op, values: op === '?=' || op === '!?=' ? javaSplitComma(value) : [value] };
    });
}

describe('buildQuery conditions', () => {
  it.each<[QueryCondition, string]>([
    [{ field: 'uuid', op: '=', value: 'abc' }, 'q=uuid%3Dabc'],
    [{ field: 'status', op: '!=', value: 'Pending' }, 'q=status!%3DPending'],
    [{ field: 'uuid', op: '?=', value: ['a', 'b'] }, 'q=uuid%3F%3Da%2Cb'],
    [{ field: 'uuid', op: '?=', value: 'a' }, 'q=uuid%3F%3Da'],
    [{ field: 'uuid', op: '!?=', value: ['a', 'b'] }, 'q=uuid!%3F%3Da%2Cb'],
    [{ field: 'name', op: '~=', value: '%web%' }, 'q=name~%3D%25web%25'],
    [{ field: 'name', op: '!~=', value: 'web_' }, 'q=name!~%3Dweb_'],
    [{ field: 'sequence', op: '>', value: '5' }, 'q=sequence%3E5'],
    [{ field: 'sequence', op: '<', value: '5' }, 'q=sequence%3C5'],
    [{ field: 'sequence', op: '>=', value: '5' }, 'q=sequence%3E%3D5'],
    [{ field: 'sequence', op: '<=', value: '5' }, 'q=sequence%3C%3D5'],
    [{ field: 'description', op: 'is null' }, 'q=description%20is%20null'],
    [{ field: 'description', op: 'not null' }, 'q=description%20not%20null'],
    [{ field: 'a.b', op: '=', value: 'x' }, 'q=a.b%3Dx'],
    [{ field: 'name', op: '=', value: 'a b+c&d#e' }, 'q=name%3Da%20b%2Bc%26d%23e'],
    [{ field: 'name', op: '=', value: 'a=b' }, 'q=name%3Da%3Db'],
    [{ field: 'name', op: '=', value: 'a>b<c' }, 'q=name%3Da%3Eb%3Cc'],
    [{ field: 'name', op: '=', value: 'x!' }, 'q=name%3Dx!'],
    [{ field: 'name', op: '=', value: 'is null' }, 'q=name%3Dis%20null'],
    [{ field: 'name', op: '=', value: '"quoted"' }, 'q=name%3D%22quoted%22'],
    [{ field: 'name', op: '=', value: '工单' }, 'q=name%3D%E5%B7%A5%E5%8D%95'],
    [{ field: 'status', op: '!=', value: 'a!=b' }, 'q=status!%3Da!%3Db'],
    [{ field: 'status', op: '!=', value: '=x' }, 'q=status!%3D%3Dx'],
    [{ field: 'uuid', op: '?=', value: ['a=b', 'c>d'] }, 'q=uuid%3F%3Da%3Db%2Cc%3Ed'],
    [{ field: 'sequence', op: '>', value: '5>3' }, 'q=sequence%3E5%3E3'],
    [{ field: 'sequence', op: '>', value: 'a<b' }, 'q=sequence%3Ea%3Cb'],
    [{ field: 'name', op: '~=', value: '%a=b%' }, 'q=name~%3D%25a%3Db%25'],
    [{ field: 'name', op: '=', value: 'x'.repeat(255) }, `q=name%3D${'x'.repeat(255)}`],
    // later-listed tokens inside the value are harmless
    [{ field: 'name', op: '!~=', value: '%a~=b%' }, 'q=name!~%3D%25a~%3Db%25'],
    [{ field: 'uuid', op: '!?=', value: ['a!~=b'] }, 'q=uuid!%3F%3Da!~%3Db'],
    [{ field: 'sequence', op: '>=', value: '5<=6' }, 'q=sequence%3E%3D5%3C%3D6'],
  ])('%j → %s', (cond, expected) => {
    const qs = buildQuery({ conditions: [cond] });
    expect(qs).toBe(expected);
    // ...and ZStack reads it back exactly as meant.
    const [parsed] = zstackConditions(qs);
    expect(parsed?.name).toBe(cond.field);
    expect(parsed?.op).toBe(cond.op);
    if (cond.value !== undefined) {
      expect(parsed?.values).toEqual(typeof cond.value === 'string' ? [cond.value] : cond.value);
    }
  });

  it.each<[QueryCondition, RegExp]>([
    // an earlier operator token anywhere in the condition
    [{ field: 'name', op: '=', value: 'a!=b' }, /"!="/],
    [{ field: 'name', op: '=', value: 'a>=b' }, /">="/],
    [{ field: 'name', op: '=', value: 'a<=b' }, /"<="/],
    [{ field: 'name', op: '=', value: 'a!?=b' }, /"!="|"!\?="/],
    [{ field: 'name', op: '=', value: 'a!~=b' }, /"!~="/],
    [{ field: 'name', op: '=', value: 'a~=b' }, /"~="/],
    [{ field: 'name', op: '=', value: 'a?=b' }, /"\?="/],
    [{ field: 'name', op: '~=', value: '%a!=b%' }, /"!="/],
    [{ field: 'name', op: '~=', value: '%a!~=b%' }, /"!~="/],
    [{ field: 'uuid', op: '?=', value: ['a~=b'] }, /"~="/],
    [{ field: 'uuid', op: '?=', value: ['a<=b'] }, /"<="/],
    [{ field: 'sequence', op: '>', value: '=5' }, /">="/],
    [{ field: 'sequence', op: '>', value: '5=5' }, /"="/],
    [{ field: 'sequence', op: '<', value: '5>3' }, /">"/],
    [{ field: 'sequence', op: '<', value: '=5' }, /"<="/],
    [{ field: 'sequence', op: '<=', value: '5>=6' }, /">="/],
    // a leading copy of the operator is swallowed by splitByWholeSeparator
    [{ field: 'name', op: '=', value: '=x' }, /start with "="/],
    [{ field: 'name', op: '~=', value: '~=x' }, /start with "~="/],
    [{ field: 'sequence', op: '>', value: '>5' }, /start with ">"/],
    // IN lists
    [{ field: 'uuid', op: '?=', value: [] }, /must not be empty/],
    [{ field: 'uuid', op: '?=', value: ['a,b'] }, /comma/],
    [{ field: 'uuid', op: '!?=', value: ['a', ''] }, /must not be empty/],
    // ZQL quoting and hostile text
    [{ field: 'name', op: '=', value: "O'Brien" }, /single quote/],
    [{ field: 'name', op: '=', value: 'a\\' }, /backslash/],
    [{ field: 'name', op: '=', value: 'a\nb' }, /control/],
    [{ field: 'name', op: '=', value: 'a\u0000' }, /control/],
    [{ field: 'name', op: '=', value: 'a\u007f' }, /control/],
    [{ field: 'name', op: '=', value: '\ud800' }, /Unicode/],
    [{ field: 'name', op: '=', value: 'x'.repeat(256) }, /255/],
    [{ field: 'uuid', op: '?=', value: ['x'.repeat(256)] }, /255/],
    [{ field: 'name', op: '=', value: '' }, /must not be empty/],
    // shapes
    [{ field: 'name', op: '=' }, /needs a value/],
    [{ field: 'name', op: '=', value: ['a'] }, /single value/],
    [{ field: 'name', op: 'is null', value: 'x' }, /takes no value/],
    [{ field: 'name', op: 'like' as QueryOp, value: 'x' }, /Unknown/],
  ])('refuses %j', (cond, message) => {
    expect(() => buildQuery({ conditions: [cond] })).toThrow(QueryValueError);
    expect(() => buildQuery({ conditions: [cond] })).toThrow(message);
  });

  it('names the field in the refusal', () => {
    expect(() => buildQuery({ conditions: [{ field: 'description', op: '=', value: 'a!=b' }] })).toThrow(
      /description/,
    );
  });

  const valueOps: QueryOp[] = ['=', '!=', '?=', '!?=', '~=', '!~=', '>', '<', '>=', '<='];
  it('property: any value either round-trips through ZStack parsing exactly or is refused', () => {
    const alphabet = fc.constantFrom(
      'a',
      'Z',
      '=',
      '!',
      '?',
      '~',
      '>',
      '<',
      ',',
      '%',
      '_',
      ' ',
      '+',
      "'",
      '\\',
      '&',
      '#',
      'é',
      '\n',
    );
    const text = fc.array(alphabet, { minLength: 0, maxLength: 12 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(
        fc.constantFrom(...valueOps),
        fc.array(text, { minLength: 1, maxLength: 3 }),
        (op, values) => {
          const isList = op === '?=' || op === '!?=';
          const cond: QueryCondition = { field: 'name', op, value: isList ? values : (values[0] as string) };
          let qs: string;
          try {
            qs = buildQuery({ conditions: [cond] });
          } catch (err) {
            expect(err).toBeInstanceOf(QueryValueError);
            return;
          }
          const [parsed] = zstackConditions(qs);
          expect(parsed).toEqual({ name: 'name', op, values: isList ? values : [values[0]] });
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('buildQuery parameters', () => {
  it('renders paging, counting, sort and fields', () => {
    expect(
      buildQuery({
        conditions: [{ field: 'status', op: '=', value: 'Pending' }],
        limit: 50,
        start: 100,
        count: true,
        replyWithCount: true,
        sort: { field: 'createDate', direction: 'desc' },
        fields: ['uuid', 'name'],
      }),
    ).toBe(
      'q=status%3DPending&limit=50&start=100&count=true&replyWithCount=true&sort=-createDate&fields=uuid%2Cname',
    );
  });

  it.each([
    [{}, ''],
    [{ sort: { field: 'name', direction: 'asc' as const } }, 'sort=%2Bname'],
    [{ limit: 0 }, 'limit=0'],
    [{ count: false, replyWithCount: false }, ''],
    [{ fields: [] }, ''],
    [
      {
        conditions: [
          { field: 'a', op: '=' as const, value: '1' },
          { field: 'b', op: 'not null' as const },
        ],
      },
      'q=a%3D1&q=b%20not%20null',
    ],
  ])('%j → %j', (params, expected) => {
    expect(buildQuery(params)).toBe(expected);
  });

  it.each([
    [{ limit: -1 }],
    [{ limit: 1.5 }],
    [{ start: Number.NaN }],
    [{ sort: { field: 'a,b', direction: 'asc' as const } }],
    [{ sort: { field: '', direction: 'asc' as const } }],
    [{ fields: ['uuid', 'na me'] }],
  ])('refuses %j', (params) => {
    expect(() => buildQuery(params)).toThrow(QueryValueError);
  });
});

describe('likeContains', () => {
  it.each([
    ['web', '%web%'],
    ['', '%%'],
    ['a b', '%a b%'],
  ])('%j → %j', (text, expected) => {
    expect(likeContains(text)).toBe(expected);
  });

  it.each(['50%', 'a_b', '%', '_'])('refuses %j (no literal match possible)', (text) => {
    expect(() => likeContains(text)).toThrow(QueryValueError);
  });

  it('its result is accepted by buildQuery for ~=', () => {
    expect(buildQuery({ conditions: [{ field: 'name', op: '~=', value: likeContains('web') }] })).toBe(
      'q=name~%3D%25web%25',
    );
  });
});
