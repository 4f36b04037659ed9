import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';

/**
 * A process logging to its real stdout (a pipe read here, as a log collector reads a container's
 * stdout) through createLogger's destination: `burst` writes request lines and a pino line, then
 * flushLogs and exits at once; `lone` writes one line and stays up.
 */
const CHILD = `
import { createLogger, flushLogs, lineWriter } from './src/observability/logger.ts';
const logger = createLogger('info');
const write = lineWriter(logger);
if (process.argv[1] === 'burst') {
  for (let i = 0; i < 1000; i++) write('info', '"reqId":"r' + i + '","status":200', 'request');
  logger.warn({ last: true }, 'bye');
  flushLogs(logger);
  process.exit(3);
} else {
  write('info', '"reqId":"lone"', 'request');
  setTimeout(() => {}, 5000);
}
`;

function run(mode: 'burst' | 'lone') {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, exited, output: () => out };
}

it('lines written just before the process exits are all on stdout, in order (flushLogs)', async () => {
  const { exited, output } = run('burst');
  expect(await exited).toBe(3);
  const lines = output()
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(1001);
  expect(lines.slice(0, 1000).map((l) => l.reqId)).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
  expect(lines[0]).toMatchObject({ level: 30, service: 'zstack-graphql', status: 200, msg: 'request' });
  expect(lines[1000]).toMatchObject({ level: 40, last: true, msg: 'bye' });
});

it('a lone line goes out shortly after, without waiting for more lines or the exit', async () => {
  const { proc, exited, output } = run('lone');
  try {
    await waitFor(() => output().includes('"reqId":"lone"'), 'the lone line on stdout', 3000).catch(() => {});
    expect(output()).toContain('"reqId":"lone"');
    expect(proc.exitCode).toBeNull();
  } finally {
    proc.kill();
    await exited;
  }
});
