import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A PATH of one folder holding `node` and the given (fake) programs, and nothing else. */
function pathWith(...programs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'zstack-graphql-path-'));
  dirs.push(dir);
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const name of programs) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/** npm test's first step (the pretest script) with exactly this environment. */
async function check(env: Record<string, string>) {
  return run(process.execPath, ['scripts/check-test-prerequisites.mjs'], { env }).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
}

describe('npm test on a fresh machine', () => {
  it('without chromium and redis-server: one line per program with how to install it, exit 1', async () => {
    const { code, stderr } = await check({ PATH: pathWith() });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'npm test needs chromium (the GraphiQL browser test): apt-get install -y chromium, or set SKIP_BROWSER_TESTS=1 to skip those tests',
      'npm test needs redis-server (the several-gateways tests): apt-get install -y redis-server, or set SKIP_REDIS_TESTS=1 to skip those tests',
    ]);
  });

  it('names only what is missing', async () => {
    const { code, stderr } = await check({ PATH: pathWith('chromium') });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^npm test needs redis-server/);
  });

  it('a CHROMIUM_PATH that is no executable is named', async () => {
    const { code, stderr } = await check({
      PATH: pathWith('chromium', 'redis-server'),
      CHROMIUM_PATH: '/nonexistent/chromium',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('CHROMIUM_PATH=/nonexistent/chromium is not an executable');
  });

  it('passes with both programs, or with the documented variables that skip their tests', async () => {
    expect(await check({ PATH: pathWith('chromium', 'redis-server') })).toEqual({ code: 0, stderr: '' });
    expect(await check({ PATH: pathWith(), SKIP_BROWSER_TESTS: '1', SKIP_REDIS_TESTS: '1' })).toEqual({
      code: 0,
      stderr: '',
    });
  });

  it('no silent skip: without the programs and without the variables, the browser and Redis tests fail', async () => {
    const result = await run(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        'test/client/graphiql.test.ts',
        'test/gateway/redis-message-bytes.test.ts',
      ],
      {
        env: {
          PATH: pathWith(),
          CHROMIUM_PATH: '/nonexistent/chromium',
          HOME: process.env.HOME ?? '/tmp',
          NO_COLOR: '1',
        },
        timeout: 80_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(result?.code).toBe(1);
    const output = `${result?.stdout}\n${result?.stderr}`;
    // Both files fail (a failed beforeAll leaves their tests unrun; a skip never fails a file).
    expect(output).toMatch(/Test Files\s+2 failed/);
    expect(output).toContain('apt-get install -y chromium, or SKIP_BROWSER_TESTS=1');
    expect(output).toContain('apt-get install -y redis-server, or SKIP_REDIS_TESTS=1');
    // A second vitest run inside the suite: about 10 s alone, much longer beside the suite's other files.
  }, 90_000);
});
