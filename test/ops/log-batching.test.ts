import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { BatchedStdout } from '../../src/observability/logger.js';

/** Records what BatchedStdout hands to the asynchronous writer. */
function recorder() {
  const writes: string[] = [];
  let syncFlushes = 0;
  return {
    writes,
    syncFlushes: () => syncFlushes,
    out: {
      write: (text: string) => writes.push(text),
      flushSync: () => {
        syncFlushes++;
      },
    },
  };
}

const line = (i: number) => `${JSON.stringify({ level: 30, reqId: `r${i}`, msg: 'request' })}\n`;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('writes the lines of 50 ms in one write, in order, and nothing before', () => {
  const r = recorder();
  const stdout = new BatchedStdout(r.out);
  for (let i = 0; i < 100; i++) stdout.write(line(i));
  expect(r.writes).toEqual([]);
  vi.advanceTimersByTime(49);
  expect(r.writes).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(r.writes).toEqual([Array.from({ length: 100 }, (_, i) => line(i)).join('')]);
  // Nothing gathered, nothing written: no empty writes while idle.
  vi.advanceTimersByTime(1000);
  expect(r.writes).toHaveLength(1);
});

it('a lone line goes out 50 ms later, without waiting for more', () => {
  const r = recorder();
  const stdout = new BatchedStdout(r.out);
  stdout.write(line(1));
  vi.advanceTimersByTime(50);
  expect(r.writes).toEqual([line(1)]);
  stdout.write(line(2));
  vi.advanceTimersByTime(50);
  expect(r.writes).toEqual([line(1), line(2)]);
});

it('writes at once when 8 KiB have gathered, before the timer', () => {
  const r = recorder();
  const stdout = new BatchedStdout(r.out);
  const big = `${'x'.repeat(3000)}\n`;
  stdout.write(big);
  stdout.write(big);
  expect(r.writes).toEqual([]);
  stdout.write(big);
  expect(r.writes).toEqual([big + big + big]);
  vi.advanceTimersByTime(100);
  expect(r.writes).toHaveLength(1);
});

it('flushSync writes what is pending, then flushes the writer synchronously (the exit paths)', () => {
  const r = recorder();
  const stdout = new BatchedStdout(r.out);
  stdout.write(line(1));
  stdout.write(line(2));
  stdout.flushSync();
  expect(r.writes).toEqual([line(1) + line(2)]);
  expect(r.syncFlushes()).toBe(1);
  vi.advanceTimersByTime(100);
  expect(r.writes).toHaveLength(1);
});
