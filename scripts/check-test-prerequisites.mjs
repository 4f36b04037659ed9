#!/usr/bin/env node
/**
 * `npm test`'s first step (the `pretest` script): the programs the suite drives that npm does not
 * install. Each missing one is one line naming it and how to install it, then exit 1, before the
 * build and before any test runs; a documented variable skips the tests that need it instead.
 * test/helpers/prerequisites.ts applies the same rules inside the tests (no silent skips).
 */
import { findProgram } from './find-program.mjs';

const programs = [
  {
    name: 'chromium',
    found: () => findProgram('chromium', process.env.CHROMIUM_PATH),
    skip: 'SKIP_BROWSER_TESTS',
    needs: 'the GraphiQL browser test',
  },
  {
    name: 'redis-server',
    found: () => findProgram('redis-server'),
    skip: 'SKIP_REDIS_TESTS',
    needs: 'the several-gateways tests',
  },
];

const missing = programs.filter((p) => process.env[p.skip] !== '1' && p.found() === undefined);
for (const p of missing) {
  console.error(
    `npm test needs ${p.name} (${p.needs}): apt-get install -y ${p.name}` +
      `${p.name === 'chromium' && process.env.CHROMIUM_PATH ? ` (CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable)` : ''}` +
      `, or set ${p.skip}=1 to skip those tests`,
  );
}
if (missing.length > 0) process.exit(1);
