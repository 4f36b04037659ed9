import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { ErrorCode } from '../errors.js';

/** Both limits count per minute (the unit in their settings' names). */
const WINDOW_SECONDS = 60;

export interface LoginLimitOptions {
  /** Most logIn attempts one client address may make per minute, successes included; 0 = no limit. */
  attemptsPerClientPerMinute: number;
  /** Most failed logIn attempts per account name per minute, from anywhere; 0 = no limit. */
  failuresPerAccountPerMinute: number;
  /**
   * Redis shared by every instance (REDIS_URL's command connection): the counts are shared, so
   * several gateways allow what one would. When it does not answer, each instance counts alone.
   */
  redis?: Redis;
  /** What every Redis key starts with (REDIS_KEY_PREFIX). */
  redisKeyPrefix?: string;
}

/** What a login reports once ZStack has answered. */
export interface LoginAttempt {
  /**
   * The login's outcome: `refused` when ZStack refused the credentials. Only a refusal counts
   * against the account: an attempt reserves a failure (so parallel guesses count too), and a
   * success or an outcome ZStack never decided (unreachable, timed out) gives it back.
   */
  settle(refused: boolean): void;
}

export interface LoginLimiter {
  /**
   * Before a login's upstream call: refuses with RATE_LIMITED (extensions.retryAfterSeconds and an
   * HTTP Retry-After header) when the client or the account is over its limit, else counts the
   * attempt. `client` is the client's address key (clientKey, src/http/connections.ts); `account` names the account as the login does.
   */
  begin(client: string | undefined, account: string): Promise<LoginAttempt>;
}

const SETTLED: LoginAttempt = { settle() {} };

/** A key of fixed length: an account name is the caller's text, up to JSON_MAX_BYTES long. */
function accountKey(account: string): string {
  return createHash('sha256').update(account.toLowerCase()).digest('base64url');
}

function limiter(options: LoginLimitOptions, name: string, points: number): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ points, duration: WINDOW_SECONDS, keyPrefix: name });
  if (options.redis === undefined) return memory;
  return new RateLimiterRedis({
    storeClient: options.redis,
    points,
    duration: WINDOW_SECONDS,
    keyPrefix: `${options.redisKeyPrefix ?? ''}${name}`,
    // Redis away: this instance counts alone (in memory) until it is back, never fails the login.
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

function rateLimited(res: RateLimiterRes, scope: 'client' | 'account'): GraphQLError {
  const retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  const message =
    scope === 'client'
      ? `Too many logins from this address; try again in ${retryAfterSeconds} s.`
      : `Too many failed logins for this account; try again in ${retryAfterSeconds} s.`;
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      scope,
      retryAfterSeconds,
      // Read by the HTTP entries for the Retry-After header; never sent in the body (serializeResult).
      http: { headers: { 'retry-after': String(retryAfterSeconds) } },
    },
  });
}

/** A store failure the insurance limiter did not absorb: the attempt is let through, uncounted. */
async function take(limit: RateLimiterAbstract, key: string, scope: 'client' | 'account'): Promise<boolean> {
  try {
    await limit.consume(key);
    return true;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) throw rateLimited(rejection, scope);
    return false;
  }
}

/**
 * logIn throttling (rate-limiter-flexible): per client address, every attempt counts; per account
 * name, only the failures. The account limit is what stops a guesser with many addresses; its cost
 * is that anyone can keep one account's logins refused by failing them on purpose (at
 * LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE requests a minute): sessions already open are untouched,
 * and the refusal ends a minute after the attacker stops.
 */
export function createLoginLimiter(options: LoginLimitOptions): LoginLimiter {
  const perClient =
    options.attemptsPerClientPerMinute > 0
      ? limiter(options, 'login-client:', options.attemptsPerClientPerMinute)
      : undefined;
  const perAccount =
    options.failuresPerAccountPerMinute > 0
      ? limiter(options, 'login-account:', options.failuresPerAccountPerMinute)
      : undefined;
  return {
    async begin(client, account) {
      if (perClient !== undefined) await take(perClient, client || 'unknown', 'client');
      if (perAccount === undefined) return SETTLED;
      const key = accountKey(account);
      if (!(await take(perAccount, key, 'account'))) return SETTLED;
      return {
        settle(refused) {
          if (!refused) void perAccount.reward(key, 1).catch(() => undefined);
        },
      };
    },
  };
}
