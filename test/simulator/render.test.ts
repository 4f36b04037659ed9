import { describe, expect, it } from 'vitest';
import { FreeJson, gsonStringify, javaDate, javaDouble, offsetString } from '../../src/simulator/render.js';

describe('Java 8 dates', () => {
  it.each([
    [Date.UTC(2017, 5, 7, 21, 20, 28), 'UTC', 'Jun 7, 2017 9:20:28 PM'],
    [Date.UTC(2018, 11, 28, 0, 5, 2), 'UTC', 'Dec 28, 2018 12:05:02 AM'],
    [Date.UTC(2018, 11, 28, 12, 0, 0), 'UTC', 'Dec 28, 2018 12:00:00 PM'],
    [Date.UTC(2017, 5, 7, 13, 20, 28), 'Asia/Shanghai', 'Jun 7, 2017 9:20:28 PM'],
    [Date.UTC(2017, 0, 1, 3, 0, 0), 'America/New_York', 'Dec 31, 2016 10:00:00 PM'],
  ])('%s in %s → %s', (ms, zone, expected) => {
    expect(javaDate(ms, zone)).toBe(expected);
  });

  it('offsets', () => {
    expect(offsetString(Date.UTC(2024, 0, 1), 'Asia/Shanghai')).toBe('+08:00');
    expect(offsetString(Date.UTC(2024, 0, 1), 'America/New_York')).toBe('-05:00');
    expect(offsetString(Date.UTC(2024, 0, 1), 'Asia/Kolkata')).toBe('+05:30');
    expect(offsetString(Date.UTC(2024, 0, 1), 'UTC')).toBe('+00:00');
  });
});

describe('Gson rendering', () => {
  it.each([
    [1, '1.0'],
    [0, '0.0'],
    [-3, '-3.0'],
    [0.5, '0.5'],
    [1234567, '1234567.0'],
    [1e7, '1.0E7'],
    [1564025557170, '1.56402555717E12'],
    [2147483648, '2.147483648E9'],
    [0.0001, '1.0E-4'],
  ])('double %s → %s', (n, s) => {
    expect(javaDouble(n)).toBe(s);
  });

  it('renders numbers in free-form JSON as doubles but typed ints as ints, and omits nulls', () => {
    const out = gsonStringify({
      sequence: 3,
      gone: null,
      ctx: new FreeJson({ n: 1, list: [2, null], big: 1.56402555717e12 }),
    });
    expect(out).toBe('{"sequence":3,"ctx":{"n":1.0,"list":[2.0,null],"big":1.56402555717E12}}');
  });

  it('HTML-escapes like Gson only when asked', () => {
    const v = { s: "a=b<c>&'d'" };
    expect(gsonStringify(v, true)).toBe('{"s":"a\\u003db\\u003cc\\u003e\\u0026\\u0027d\\u0027"}');
    expect(gsonStringify(v, false)).toBe(`{"s":"a=b<c>&'d'"}`);
    expect(JSON.parse(gsonStringify(v, true))).toEqual(v);
  });
});
