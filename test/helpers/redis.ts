import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * The Redis tests need Debian's redis-server on the PATH (npm test's first step says so when it is
 * missing); without it they fail, unless SKIP_REDIS_TESTS=1 skips them (test/helpers/prerequisites.ts).
 */
export { skipRedisTests } from './prerequisites.js';

/** A redis-server of the test's own, on a free loopback port, without persistence. */
export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** Kills it (SIGKILL: no goodbye to its clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Stalls it (SIGSTOP): connections stay open, nothing is answered until resume(). */
  pause(): void;
  /** Lets a paused server run again (SIGCONT): it then answers what it was sent meanwhile. */
  resume(): void;
}

/** A port nothing listens on right now (the kernel's pick for port 0 on loopback). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${output}`));
    }, 10_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new Error(
          `redis-server could not be started (apt-get install -y redis-server, or SKIP_REDIS_TESTS=1 to skip the Redis tests): ${err.message}`,
        ),
      );
    });
    child.stdout?.setEncoding('utf8');
    let ready = false;
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    };
    child.once('exit', onExit);
    // Its log is read to the end (a full pipe would stall it), but kept only until it is ready.
    child.stdout?.on('data', (chunk: string) => {
      if (ready) return;
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        ready = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!ready) output += chunk.toString();
    });
  });
}

/** Starts Debian's redis-server on a free loopback port; `stop()` it in afterAll. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGCONT'); // a paused server would never act on SIGTERM
      running.kill('SIGTERM');
      await exited;
    },
    async start() {
      if (child !== undefined) return;
      child = await launch(port);
    },
    async kill() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGKILL');
      await exited;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}
