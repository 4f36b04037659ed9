import { describe, expect, it } from 'vitest';
import { isValidTimeZone, parseJavaDate } from '../../src/zstack/dates.js';

const iso = (text: string, zone: string) => parseJavaDate(text, zone)?.toISOString() ?? null;

describe('parseJavaDate', () => {
  it.each([
    // Java 8 and JDK 9+ forms, spaces before AM/PM
    ['Jun 7, 2017 9:20:28 PM', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017, 9:20:28 PM', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017 9:20:28\u202fPM', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017, 9:20:28\u00a0PM', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017 21:20:28', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017, 21:20:28', 'UTC', '2017-06-07T21:20:28.000Z'],
    ['Dec 28, 2018 6:38:12 PM', 'UTC', '2018-12-28T18:38:12.000Z'],
    ['Sep 1, 2020 9:00:00 AM', 'UTC', '2020-09-01T09:00:00.000Z'],
    ['Sept 1, 2020 9:00:00 AM', 'UTC', '2020-09-01T09:00:00.000Z'],
    // 12 AM is midnight, 12 PM is noon
    ['Jan 1, 2020 12:00:00 AM', 'UTC', '2020-01-01T00:00:00.000Z'],
    ['Jan 1, 2020 12:00:01 PM', 'UTC', '2020-01-01T12:00:01.000Z'],
    ['Jan 1, 2020 0:00:00', 'UTC', '2020-01-01T00:00:00.000Z'],
    ['Feb 29, 2020 11:59:59 PM', 'UTC', '2020-02-29T23:59:59.000Z'],
    // fixed offsets
    ['Jun 7, 2017 9:20:28 PM', 'Asia/Shanghai', '2017-06-07T13:20:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', '+08:00', '2017-06-07T13:20:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', '+0800', '2017-06-07T13:20:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', '-05:30', '2017-06-08T02:50:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', 'UTC+01:00', '2017-06-07T20:20:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', 'Z', '2017-06-07T21:20:28.000Z'],
    ['Jun 7, 2017 9:20:28 PM', 'Etc/UTC', '2017-06-07T21:20:28.000Z'],
    // IANA zones with DST
    ['Jul 4, 2021 12:00:00 PM', 'America/New_York', '2021-07-04T16:00:00.000Z'],
    ['Jan 4, 2021 12:00:00 PM', 'America/New_York', '2021-01-04T17:00:00.000Z'],
    ['Mar 14, 2021 1:59:59 AM', 'America/New_York', '2021-03-14T06:59:59.000Z'],
    ['Mar 14, 2021 3:00:00 AM', 'America/New_York', '2021-03-14T07:00:00.000Z'],
    // skipped by DST: moved forward by the gap (java.time), 2:30 EST → 3:30 EDT
    ['Mar 14, 2021 2:30:00 AM', 'America/New_York', '2021-03-14T07:30:00.000Z'],
    // repeated by DST: the earlier instant (EDT)
    ['Nov 7, 2021 1:30:00 AM', 'America/New_York', '2021-11-07T05:30:00.000Z'],
    ['Nov 7, 2021 2:30:00 AM', 'America/New_York', '2021-11-07T07:30:00.000Z'],
    ['Oct 31, 2021 2:30:00 AM', 'Europe/Berlin', '2021-10-31T00:30:00.000Z'],
    ['Mar 28, 2021 3:30:00 AM', 'Europe/Berlin', '2021-03-28T01:30:00.000Z'],
    ['Jan 1, 2021 12:00:00 PM', 'Australia/Lord_Howe', '2021-01-01T01:00:00.000Z'],
    ['Jul 1, 2021 12:00:00 PM', 'Australia/Lord_Howe', '2021-07-01T01:30:00.000Z'],
    ['Jun 7, 2017 9:20:28 PM', 'Asia/Kathmandu', '2017-06-07T15:35:28.000Z'],
    // ISO-8601
    ['2017-06-07T21:20:28+08:00', 'UTC', '2017-06-07T13:20:28.000Z'],
    ['2017-06-07T21:20:28-0130', 'UTC', '2017-06-07T22:50:28.000Z'],
    ['2017-06-07T21:20:28Z', 'Asia/Shanghai', '2017-06-07T21:20:28.000Z'],
    ['2017-06-07T21:20:28.123Z', 'UTC', '2017-06-07T21:20:28.123Z'],
    ['2017-06-07T21:20:28.123456789+00:00', 'UTC', '2017-06-07T21:20:28.123Z'],
    ['2017-06-07T21:20:28', 'Asia/Shanghai', '2017-06-07T13:20:28.000Z'],
    ['2017-06-07 21:20:28', 'UTC', '2017-06-07T21:20:28.000Z'],
  ])('%j in %s → %s', (text, zone, expected) => {
    expect(iso(text, zone)).toBe(expected);
  });

  it.each([
    '',
    'garbage',
    'Jun 7 2017 9:20:28 PM',
    'Foo 7, 2017 9:20:28 PM',
    'jun 7, 2017 9:20:28 PM',
    'Feb 30, 2017 9:20:28 PM',
    'Feb 29, 2021 9:20:28 PM',
    'Jun 7, 2017 13:20:28 PM',
    'Jun 7, 2017 0:20:28 AM',
    'Jun 7, 2017 24:00:00',
    'Jun 7, 2017 9:60:00 PM',
    'Jun 7, 2017 9:20:61 PM',
    'Jun 7, 2017 9:20:28 pm',
    'Jun 7, 2017  9:20:28 PM',
    ' Jun 7, 2017 9:20:28 PM',
    'Jun 7, 2017 9:20:28 PM UTC',
    '2017-13-01T00:00:00Z',
    '2017-06-07T21:20:28+8',
    '1496870428000',
  ])('%j is not a date', (text) => {
    expect(parseJavaDate(text, 'UTC')).toBeNull();
  });

  it('reads back every hour of a DST year as Intl renders it (JDK 9+ form), outside the repeated hour', () => {
    const zone = 'America/New_York';
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      dateStyle: 'medium',
      timeStyle: 'medium',
    });
    const start = Date.UTC(2021, 0, 1);
    let checked = 0;
    for (let t = start; t < start + 366 * 86_400_000; t += 3_600_000 + 61_000) {
      const text = format.format(t);
      const back = parseJavaDate(text, zone);
      expect(back, text).not.toBeNull();
      // In the repeated hour the text is ambiguous; the earlier instant is returned.
      const earlier = (back as Date).getTime() === t - 3_600_000;
      if (!earlier) expect((back as Date).getTime(), text).toBe(t);
      checked++;
    }
    expect(checked).toBeGreaterThan(8000);
  });

  it('throws RangeError for an unknown zone, and isValidTimeZone says so', () => {
    expect(() => parseJavaDate('Jun 7, 2017 9:20:28 PM', 'Mars/Olympus')).toThrow(RangeError);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('+08:00')).toBe(true);
  });
});
