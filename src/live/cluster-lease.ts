/**
 * A session's poll lease in Redis: one instance at a time polls a session (SET NX PX, renewed at each
 * poll; the value is the holder's instance id, so only the holder renews or releases it).
 */
import type { Redis } from 'ioredis';

/** Take the lease when free, renew it when ours: {1, 0} = this instance polls; {0, ms left} otherwise. */
const CLAIM = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {1, 0} end
if v then return {0, redis.call('PTTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, 0}`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Takes or renews the lease at `leaseKey`: `mine`, or when the other holder's lease runs out. */
export async function claimLease(
  redis: Redis,
  leaseKey: string,
  instanceId: string,
  ttlMs: number,
): Promise<{ mine: boolean; retryInMs: number }> {
  const reply = (await redis.eval(CLAIM, 1, leaseKey, instanceId, String(Math.ceil(ttlMs)))) as [
    number,
    number,
  ];
  const left = Number(reply[1]);
  return { mine: reply[0] === 1, retryInMs: left > 0 ? left : ttlMs };
}

/** Gives the lease up if `instanceId` holds it. */
export function releaseLease(redis: Redis, leaseKey: string, instanceId: string): Promise<unknown> {
  return redis.eval(RELEASE, 1, leaseKey, instanceId);
}
