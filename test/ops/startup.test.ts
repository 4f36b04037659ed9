import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { startOps } from './support.js';

const ENTRY = 'dist/src/server.js';
let child: ChildProcess | undefined;

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (npm test does)`);
});
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `npm start`'s entry with `env`; its stdout and stderr, kept apart. */
function start(env: Record<string, string>) {
  const proc = spawn(process.execPath, [ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const out = { stdout: '', stderr: '' };
  proc.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const lines = () =>
    out.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { proc, out, exited, lines };
}

describe('production start', () => {
  it('ZStack not answering: a warning, every stdout line JSON, and the gateway serves /health', async () => {
    const zstack = `http://127.0.0.1:${await closedPort()}/zstack`;
    const run = start({ NODE_ENV: 'production', ZSTACK_URL: zstack, STARTUP_CHECK_TIMEOUT_MS: '2000' });
    await waitFor(
      () => run.out.stdout.includes('ZStack does not answer at start'),
      'the start-up warning',
      15_000,
    );
    // JSON.parse throws on any plain-text line.
    const lines = run.lines();
    const listening = lines.find((l) => l.msg === 'listening');
    const warning = lines.find((l) => String(l.msg).startsWith('ZStack does not answer'));
    expect(warning).toMatchObject({ level: 40 });
    expect(String(warning?.reason)).toMatch(/ZStack did not answer/);
    const port = listening?.port as number;
    const health = await request(`http://127.0.0.1:${port}/health`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    const ready = await request(`http://127.0.0.1:${port}/ready`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(() => run.lines()).not.toThrow();
  });

  it.each([
    ['production: one JSON line on stdout', 'production'],
    ['development: plain text on stderr', 'development'],
  ])('a bad configuration names every problem at once (%s)', async (_name, nodeEnv) => {
    const run = start({ NODE_ENV: nodeEnv, PORT: 'x', LOG_LEVEL: 'y', ZSTACK_URL: 'zstack:8080' });
    expect(await run.exited).toBe(2);
    const text =
      nodeEnv === 'production'
        ? run
            .lines()
            .flatMap((l) => l.problems as string[])
            .join('\n')
        : run.out.stderr;
    for (const typed of ['PORT', '"x"', 'LOG_LEVEL', '"y"', 'ZSTACK_URL', '"zstack:8080"'])
      expect(text).toContain(typed);
    if (nodeEnv === 'production') {
      const [line, ...rest] = run.lines();
      expect(rest).toEqual([]);
      expect(line).toMatchObject({ level: 60, msg: 'Invalid configuration' });
      expect(line?.problems).toHaveLength(3);
    }
  });
});

describe('npm start without a build', () => {
  it('says in one line that dist/ is missing, with no MODULE_NOT_FOUND stack', async () => {
    // A runtime folder as `npm ci --omit=dev` leaves it when nobody built: package files, no dist/.
    const dir = mkdtempSync(join(tmpdir(), 'zstack-graphql-nodist-'));
    try {
      copyFileSync('package.json', join(dir, 'package.json'));
      const failed = await promisify(execFile)('npm', ['start', '--silent'], {
        cwd: dir,
        timeout: 30_000,
      }).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(failed?.code).toBe(1);
      const lines = (failed?.stderr ?? '').split('\n').filter((l) => l.trim() !== '');
      expect(lines).toEqual([
        'zstack-graphql: dist/src/server.js is missing: build it first with npm run build (in a checkout with dev dependencies), or copy a built dist/ here',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a production start without ZSTACK_URL', () => {
  it('is reported with the other problems in the same JSON line (one restart fixes all)', async () => {
    const run = start({ NODE_ENV: 'production', PORT: 'x', LOG_LEVEL: 'y' });
    expect(await run.exited).toBe(2);
    const [line, ...rest] = run.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 60, msg: 'Invalid configuration' });
    const problems = line?.problems as string[];
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/ZSTACK_URL is required when NODE_ENV=production/);
    expect(problems.join('\n')).toContain('PORT');
    expect(problems.join('\n')).toContain('LOG_LEVEL');
  });
});

describe('credentials in a bad configuration', () => {
  it.each([
    ['production: the JSON line', 'production'],
    ['development: the text on stderr', 'development'],
  ])('never reach the output (%s)', async (_name, nodeEnv) => {
    const run = start({
      NODE_ENV: nodeEnv,
      ZSTACK_URL: 'http://admin:TopSecret1@zstack:8080/zstack',
      REDIS_URL: 'http://:RedisPass9@redis:6379',
      REDIS_KEY_SECRET: 'RedisKeySecret7',
    });
    expect(await run.exited).toBe(2);
    const text = run.out.stdout + run.out.stderr;
    expect(text).toContain('ZSTACK_URL');
    expect(text).toContain('http://admin:[redacted]@zstack:8080/zstack');
    expect(text).toContain('http://:[redacted]@redis:6379');
    for (const secret of ['TopSecret1', 'RedisPass9', 'RedisKeySecret7']) expect(text).not.toContain(secret);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port, and no longer on the main one', async () => {
    const h = await startOps({ env: { METRICS_PORT: '9464' } });
    try {
      await h.gql('{ __typename }');
      const own = await request(`${h.metricsBase}/metrics`);
      expect(own.statusCode).toBe(200);
      expect(await own.body.text()).toContain('graphql_requests_total');
      const main = await request(`${h.base}/metrics`);
      await main.body.dump();
      expect(main.statusCode).toBe(404);
      const other = await request(`${h.metricsBase}/graphql`);
      await other.body.dump();
      expect(other.statusCode).toBe(404);
      // Probes stay on the main port.
      const health = await request(`${h.base}/health`);
      await health.body.dump();
      expect(health.statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });
});
