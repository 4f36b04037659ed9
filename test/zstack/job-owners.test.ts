import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobOwners } from '../../src/zstack/client.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('JobOwners (which session submitted which job)', () => {
  it('knows a job only under the session that submitted it; no session, no owner', () => {
    const owners = new JobOwners();
    owners.remember('job-a', 'session-1');
    owners.remember('job-b', undefined);
    expect(owners.sentBy('job-a', 'session-1')).toBe(true);
    expect(owners.sentBy('job-a', 'session-2')).toBe(false);
    expect(owners.sentBy('job-b', 'session-1')).toBe(false);
    expect(owners.sentBy('job-c', 'session-1')).toBe(false);
  });

  it('past the bound the oldest goes first; remembering a job again makes it the newest, under its new session', () => {
    const owners = new JobOwners(3);
    owners.remember('a', 's1');
    owners.remember('b', 's1');
    owners.remember('c', 's1');
    owners.remember('a', 's2'); // a again: now the newest, owned by s2; nothing evicted
    expect(owners.sentBy('a', 's2')).toBe(true);
    expect(owners.sentBy('a', 's1')).toBe(false);
    expect(owners.sentBy('b', 's1')).toBe(true);
    owners.remember('d', 's3'); // full: b (the oldest) goes
    expect(owners.sentBy('b', 's1')).toBe(false);
    expect(owners.sentBy('c', 's1')).toBe(true);
    expect(owners.sentBy('d', 's3')).toBe(true);
    owners.remember('e', 's4'); // then c
    expect(owners.sentBy('c', 's1')).toBe(false);
    expect(owners.sentBy('a', 's2')).toBe(true);
    expect(owners.sentBy('d', 's3')).toBe(true);
    expect(owners.sentBy('e', 's4')).toBe(true);
    // The entry reused for e is e's own: d's and a's owners are untouched.
    expect(owners.sentBy('d', 's4')).toBe(false);
  });

  it('forgets an owner past ZStack result retention (3 hours), counted from the last remember', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const owners = new JobOwners();
    owners.remember('a', 's1');
    vi.setSystemTime(1_000_000 + 2 * 3600_000);
    owners.remember('a', 's1');
    vi.setSystemTime(1_000_000 + 4 * 3600_000);
    expect(owners.sentBy('a', 's1')).toBe(true);
    vi.setSystemTime(1_000_000 + 5 * 3600_000 + 1);
    expect(owners.sentBy('a', 's1')).toBe(false);
  });
});
