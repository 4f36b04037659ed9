import { describe, expect, it } from 'vitest';
import { scrub, scrubUuids } from '../../src/observability/logger.js';
import { redactCredentials } from '../../src/observability/redact.js';

describe('redactCredentials', () => {
  it.each([
    ['http://admin:TopSecret1@zstack:8080/zstack', 'http://admin:[redacted]@zstack:8080/zstack'],
    ['redis://:RedisPass9@redis:6379/0', 'redis://:[redacted]@redis:6379/0'],
    ['rediss://user:p@ss@redis:6380', 'rediss://user:[redacted]@redis:6380'],
    ['redis://RedisPass9@redis:6379', 'redis://[redacted]@redis:6379'],
    ['redis:/:RedisPass9@redis:6379', 'redis:/:[redacted]@redis:6379'],
    ['connect to "http://a:b@h" failed', 'connect to "http://a:[redacted]@h" failed'],
    // Nothing to redact: left exactly as it was.
    ['http://zstack:8080/zstack', 'http://zstack:8080/zstack'],
    ['http://host/a@b', 'http://host/a@b'],
    ['ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED 127.0.0.1:6379'],
  ])('%s → %s', (text, shown) => {
    expect(redactCredentials(text)).toBe(shown);
  });
});

it('the free-text scrubbers of log lines (masked errors, Redis and feed faults) redact URL credentials', () => {
  const message =
    'Reached the max retries: redis://:RedisPass9@redis:6379 (session 0123456789abcdef0123456789abcdef)';
  expect(scrub(message, undefined)).not.toContain('RedisPass9');
  expect(scrubUuids(message)).toBe(
    'Reached the max retries: redis://:[redacted]@redis:6379 (session [redacted])',
  );
});
