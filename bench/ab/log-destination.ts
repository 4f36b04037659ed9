/**
 * A/B of the gateway's stdout log destination: the hand-written BatchedStdout (lines gathered up to
 * 8 KiB or 50 ms, then handed to sonic-boom's asynchronous writer) against pino's own destination
 * (sonic-boom) given the same bounds: `pino.destination({ dest: 1, sync: false, minLength: 8192,
 * periodicFlush: 50 })`.
 *
 * One mutation = one request log line (the gateway logs nothing else per mutation at info): the
 * line src/http/request-log.ts builds, written through lineWriter straight to the destination, as
 * the gateway does. The writer is a child process whose stdout is a pipe this process reads and
 * discards, as a log collector would. The child measures its own CPU time (process.cpuUsage():
 * every thread, so libuv's thread pool doing the writes counts) from the first measured line to the
 * last line written out, and prints it on stderr. One child per mode runs rounds of three phases
 * (ours, sonic-boom, none; which of ours and sonic-boom goes first alternates), each phase with a
 * fresh destination, so the two sides meet the same machine state. The child is pinned to one core
 * when taskset allows, as `npm run bench` pins the gateway (the pool's writes share that core).
 *
 * Modes: `paced`, bursts of 10 lines per event-loop turn at 3,000 lines/s (a busy gateway); `max`,
 * bursts of 10 lines per turn as fast as the loop goes. `none` (a destination that drops each line)
 * is the floor: building the line and the loop, without any destination work.
 *
 * Run: `nice -n 10 npx tsx bench/ab/log-destination.ts` (AB_ROUNDS, AB_CPU=<core> or AB_CPU=none).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { destination as fileDestination } from 'pino';
import { createLogger, lineWriter } from '../../src/observability/logger.js';

type Impl = 'ours' | 'sonic-boom' | 'none';
type Mode = 'paced' | 'max';
type Destination = { write(line: string): unknown; flushSync(): void };

const BURST = 10;
const PACED_RATE = 3000;
const PACED_WARMUP_MS = 1000;
const PACED_MS = 3000;
const MAX_WARMUP_LINES = 20_000;
const MAX_LINES = 200_000;
/** After the last line: long enough for a 50 ms batch to go out and its write to finish. */
const SETTLE_MS = 150;

/**
 * BatchedStdout as src/observability/logger.ts had it (commit d1c58f2), kept here so the A/B can
 * be run again once the gateway no longer has it.
 */
class BatchedStdout {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Destination) {}

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= 8 * 1024) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(flushBatch, 50, this);
      this.timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = '';
    this.out.write(batch);
  }

  flushSync(): void {
    this.flush();
    this.out.flushSync();
  }
}

function flushBatch(stdout: BatchedStdout): void {
  stdout.flush();
}

/** The destination, and how to stop it once its phase is measured (fd 1 stays open). */
function destinationOf(impl: Impl): { destination: Destination; end(): void } {
  if (impl === 'sonic-boom') {
    // pino.destination() with sonic-boom's documented batching options, the same bounds as ours.
    const boom = fileDestination({ dest: 1, sync: false, minLength: 8 * 1024, periodicFlush: 50 });
    return { destination: boom, end: () => boom.end() };
  }
  if (impl === 'ours') {
    const out = fileDestination({ dest: 1, sync: false });
    return { destination: new BatchedStdout(out), end: () => out.end() };
  }
  return { destination: { write: (_line: string) => undefined, flushSync: () => undefined }, end: () => {} };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One phase: a fresh destination and logger, a warm-up, then the measured lines; the CPU time from
 * the first measured line until every line has been written out (flushSync, after SETTLE_MS).
 */
async function phase(impl: Impl, mode: Mode): Promise<number> {
  const { destination, end } = destinationOf(impl);
  const write = lineWriter(createLogger('info', destination));
  // The members requestLog writes for the bench's mutation (one JSON POST, two upstream calls).
  const line = () => {
    const ms = 1 + Math.random();
    write(
      'info',
      `"reqId":${JSON.stringify(randomUUID())},"path":"/graphql","entry":"graphql-post"` +
        `,"status":200,"operation":"Approve","code":"OK"` +
        `,"errors":0,"durationMs":${Math.round(ms * 10) / 10}` +
        `,"upstream":{"calls":2,"ms":${Math.round(ms * 6) / 10}}` +
        `,"jobs":{"count":0,"polls":0,"waitMs":0}` +
        `,"aborted":false`,
      'request',
    );
  };
  const burst = () => {
    for (let i = 0; i < BURST; i++) line();
  };
  /** Bursts for `ms` at PACED_RATE (a timer per burst); resolves with the lines written. */
  const paced = (ms: number) =>
    new Promise<number>((resolve) => {
      const start = performance.now();
      const every = (1000 * BURST) / PACED_RATE;
      let n = 0;
      const tick = () => {
        burst();
        n++;
        const next = start + n * every;
        if (next - start >= ms) resolve(n * BURST);
        else setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    });
  /** `lines` in bursts, one burst per event-loop turn. */
  const flat = (lines: number) =>
    new Promise<number>((resolve) => {
      let left = lines;
      const turn = () => {
        burst();
        left -= BURST;
        if (left > 0) setImmediate(turn);
        else resolve(lines);
      };
      turn();
    });

  if (mode === 'paced') await paced(PACED_WARMUP_MS);
  else await flat(MAX_WARMUP_LINES);
  await sleep(SETTLE_MS);
  destination.flushSync();
  const cpu0 = process.cpuUsage();
  const lines = mode === 'paced' ? await paced(PACED_MS) : await flat(MAX_LINES);
  await sleep(SETTLE_MS);
  destination.flushSync();
  const cpu = process.cpuUsage(cpu0);
  // sonic-boom's periodicFlush timer stops with it.
  end();
  await sleep(SETTLE_MS);
  return (cpu.user + cpu.system) / lines;
}

/** Rounds of the three phases in one process, alternating which of ours and sonic-boom goes first. */
async function child(mode: Mode, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const order: Impl[] = round % 2 === 0 ? ['ours', 'sonic-boom', 'none'] : ['sonic-boom', 'ours', 'none'];
    const result: Partial<Record<Impl, number>> = {};
    for (const impl of order) result[impl] = await phase(impl, mode);
    process.stderr.write(`${JSON.stringify(result)}\n`);
  }
}

function taskset(): string | undefined {
  const cpu = process.env.AB_CPU ?? '0';
  if (cpu === 'none') return undefined;
  const probe = spawnSync('taskset', ['-c', cpu, 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? cpu : undefined;
}

/** One child for `mode`; resolves with its rounds ({ impl: µs per line }) and what the pipe carried. */
function run(mode: Mode, rounds: number, cpu: string | undefined) {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, String(rounds)];
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  const proc =
    cpu === undefined
      ? spawn(process.execPath, args, { stdio })
      : spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio });
  // The log collector: reads every chunk and throws it away.
  let reads = 0;
  let bytes = 0;
  proc.stdout.on('data', (chunk: Buffer) => {
    reads++;
    bytes += chunk.length;
  });
  let err = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise<{ rounds: Record<Impl, number>[]; reads: number; bytes: number }>((resolve, reject) => {
    proc.once('close', (code) => {
      const lines = err.trim().split('\n');
      if (code !== 0 || lines.length !== rounds) {
        reject(new Error(`${mode}: exit ${code}\n${err}`));
        return;
      }
      resolve({ rounds: lines.map((l) => JSON.parse(l) as Record<Impl, number>), reads, bytes });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const rounds = Number(process.env.AB_ROUNDS ?? 7);
  const cpu = taskset();
  console.log(
    `log destination A/B: ${rounds} rounds, child ${cpu === undefined ? 'not pinned' : `pinned to core ${cpu}`}, ` +
      `node ${process.version}; µs of the child's CPU per mutation (one request line)`,
  );
  const fmt = (x: number) => x.toFixed(2).padStart(6);
  for (const mode of ['paced', 'max'] as const) {
    const r = await run(mode, rounds, cpu);
    r.rounds.forEach((x, i) => {
      console.log(
        `${mode} round ${i + 1}: ours ${fmt(x.ours)}  sonic-boom ${fmt(x['sonic-boom'])}  ` +
          `none ${fmt(x.none)}  sonic-boom − ours ${fmt(x['sonic-boom'] - x.ours)}`,
      );
    });
    const of = (impl: Impl) => median(r.rounds.map((x) => x[impl])).toFixed(2);
    const saved = median(r.rounds.map((x) => x['sonic-boom'] - x.ours));
    console.log(
      `${mode} median: ours ${of('ours')}, sonic-boom ${of('sonic-boom')}, no destination ${of('none')} µs; ` +
        `ours saves ${saved.toFixed(2)} µs per mutation (median of the rounds' differences); ` +
        `${(r.bytes / r.reads / 1024).toFixed(1)} KiB per pipe read`,
    );
  }
}

const at = process.argv.indexOf('--child');
if (at >= 0) await child(process.argv[at + 1] as Mode, Number(process.argv[at + 2]));
else await main();
