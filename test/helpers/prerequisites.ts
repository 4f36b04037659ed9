import { findProgram } from '../../scripts/find-program.mjs';

/**
 * The programs the suite drives that npm does not install, found as scripts/check-test-prerequisites.mjs
 * (npm test's first step) finds them. A test that needs one fails without it (no silent skip) unless
 * its documented variable says to skip: SKIP_BROWSER_TESTS=1 (chromium), SKIP_REDIS_TESTS=1 (redis-server).
 */
export { findProgram };

/** SKIP_BROWSER_TESTS=1: the GraphiQL browser test is skipped (say so in the run's output). */
export const skipBrowserTests = process.env.SKIP_BROWSER_TESTS === '1';
/** SKIP_REDIS_TESTS=1: the several-gateways (redis-server) tests are skipped. */
export const skipRedisTests = process.env.SKIP_REDIS_TESTS === '1';

/** Where chromium is: CHROMIUM_PATH, else `chromium` on PATH, else Debian's path (the launch then fails, saying so). */
export const chromiumPath =
  findProgram('chromium', process.env.CHROMIUM_PATH) ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
