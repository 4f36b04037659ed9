/**
 * `npm run bench`: the gateway, the no-GraphQL floor, bare GraphQL, Mercurius+jit (bare and as deployed) and Apollo, each in its own process,
 * driven by autocannon against one fixed-response ZStack upstream, interleaved round by round so that
 * drift on a shared machine hits every implementation alike. See bench/README.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { Pool, request } from 'undici';
import { SCENARIOS, type Scenario, SESSION_UUID } from '../bench/operations.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const IMPLEMENTATIONS = [
  'gateway',
  'gateway-yoga',
  'gateway-envelop-jit',
  'gateway-abort-controller',
  'baseline',
  'floor',
  'bare',
  'mercurius',
  'mercurius-deployed',
  'apollo',
] as const;
/** Another build of the gateway to compare with side by side (a git worktree with `npm run build` done). */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
type ImplName = (typeof IMPLEMENTATIONS)[number];
const START_TIMEOUT_MS = 30_000;
const SAMPLE_REQUESTS = 3;

interface Settings {
  quick: boolean;
  rounds: number;
  durationS: number;
  warmupS: number;
  scenarios: Scenario[];
  implementations: ImplName[];
}

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function loadSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const quick = argv.includes('--quick');
  const wantedScenarios = env.BENCH_SCENARIOS?.split(',').filter(Boolean);
  const wantedImpls = env.BENCH_IMPLS?.split(',').filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => !wantedScenarios || wantedScenarios.includes(s.name));
  const implementations = IMPLEMENTATIONS.filter((i) => !wantedImpls || wantedImpls.includes(i));
  if (scenarios.length === 0)
    throw new Error(`BENCH_SCENARIOS matches none of ${SCENARIOS.map((s) => s.name)}`);
  if (implementations.length === 0) throw new Error(`BENCH_IMPLS matches none of ${IMPLEMENTATIONS}`);
  return {
    quick,
    rounds: quick ? 1 : Math.round(positiveNumber('BENCH_ROUNDS', env.BENCH_ROUNDS, 3)),
    durationS: quick ? 2 : positiveNumber('BENCH_DURATION_S', env.BENCH_DURATION_S, 5),
    warmupS: quick ? 0.5 : positiveNumber('BENCH_WARMUP_S', env.BENCH_WARMUP_S, 1),
    scenarios,
    implementations,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU pinning

/**
 * On a small machine the load generator, the upstream and the server under test fight for the same
 * cores, and the scheduler's choices swing req/s from run to run. With `taskset` (util-linux) and at
 * least two cores, the server under test gets core 0 to itself and this process (autocannon) and
 * the upstream share core 1. Without them (or with BENCH_PIN=0) nothing is pinned, and the run says so.
 */
interface Pinning {
  enabled: boolean;
  /** Why not, when not. */
  reason?: string;
  serverCpu?: number;
  loadCpu?: number;
}

function setUpPinning(env: NodeJS.ProcessEnv): Pinning {
  if (env.BENCH_PIN === '0') return { enabled: false, reason: 'BENCH_PIN=0' };
  if (process.platform !== 'linux') return { enabled: false, reason: `not Linux (${process.platform})` };
  if (cpus().length < 2) return { enabled: false, reason: 'fewer than 2 cores' };
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0)
    return { enabled: false, reason: 'taskset (util-linux) is missing or not allowed here' };
  const serverCpu = 0;
  const loadCpu = 1;
  // Every thread of this process (autocannon runs here), so the load generator stays off core 0.
  const self = spawnSync('taskset', ['-a', '-p', '-c', String(loadCpu), String(process.pid)], {
    stdio: 'ignore',
  });
  if (self.status !== 0) return { enabled: false, reason: 'taskset could not pin the bench process' };
  return { enabled: true, serverCpu, loadCpu };
}

let pinning: Pinning = { enabled: false, reason: 'not set up yet' };

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  name: string;
  proc: ChildProcess;
  port: number;
  output: string;
  exit?: string;
}

const children = new Set<Child>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `cpu`: the core the child runs on when pinning is on (taskset execs node: the pid is node's). */
function startChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  cpu?: number,
): Child {
  const pinned = pinning.enabled && cpu !== undefined;
  const command = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', String(cpu), process.execPath, ...args] : args;
  const proc = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, proc, port, output: '' };
  // Keep only the tail: enough to say why a start failed, bounded however chatty the child is. Log
  // lines (the gateway's, mercurius-deployed's) are read off the pipe as a log collector would, and
  // only the last 4,000 bytes of a chunk are decoded, so draining stays cheap on the load core.
  const keep = (chunk: Buffer) => {
    const tail = chunk.length > 4000 ? chunk.subarray(chunk.length - 4000) : chunk;
    child.output = (child.output + tail.toString('utf8')).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', (code, signal) => {
    child.exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
    children.delete(child);
  });
  children.add(child);
  return child;
}

async function stopChild(child: Child): Promise<void> {
  if (child.exit !== undefined) return;
  const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function killAllNow() {
  for (const child of children) child.proc.kill('SIGKILL');
}
process.once('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

/** Polls until `probe` succeeds, the child dies, or the deadline passes; returns why it failed. */
async function waitUntilAnswers(child: Child, probe: () => Promise<boolean>): Promise<string | undefined> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exit !== undefined) return `${child.exit}: ${child.output.trim().slice(-1500)}`;
    if (await probe().catch(() => false)) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `did not answer within ${START_TIMEOUT_MS / 1000} s: ${child.output.trim().slice(-1500)}`;
}

async function answersGraphQL(port: number): Promise<boolean> {
  const res = await request(`http://${HOST}:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION_UUID}` },
    body: JSON.stringify({ query: '{ __typename }' }),
    headersTimeout: 2_000,
    bodyTimeout: 2_000,
  });
  await res.body.dump();
  return true;
}

/** VmHWM: the peak resident set of the process's whole life, in MB (Linux only). */
function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

const CLOCK_TICKS_PER_S = 100;

/** User + system CPU seconds the process has used so far (Linux only). */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/**
 * The side-by-side rows: this checkout's gateway with one switch set (an environment variable read
 * by src/server.ts only), each a library in place of one hand-written piece (bench/README.md).
 */
const SWITCHES: Partial<Record<ImplName, readonly [string, string]>> = {
  // JSON POSTs served by yoga's handler instead of the JSON POST entry.
  'gateway-yoga': ['GRAPHQL_POST_ENTRY', 'yoga'],
  // @envelop/graphql-jit instead of our jit plugin.
  'gateway-envelop-jit': ['GRAPHQL_JIT_PLUGIN', 'envelop'],
  // AbortController signals instead of CloseSignal and the transport's Attempt.
  'gateway-abort-controller': ['ABORT_SIGNALS', 'abort-controller'],
};

/** The gateway of this checkout's dist/, as `gateway` or with one side-by-side switch set. */
function isSameBuild(name: ImplName): boolean {
  return name === 'gateway' || SWITCHES[name] !== undefined;
}

function implArgs(name: ImplName): string[] {
  if (isSameBuild(name)) return ['dist/src/server.js'];
  if (name === 'baseline') return [join(BASELINE_DIR ?? '.', 'dist/src/server.js')];
  // Mercurius as users deploy it: request logs at info, a depth limit, the documented error formatter.
  if (name === 'mercurius-deployed') return ['--import', 'tsx', 'bench/mercurius.ts', '--deployed'];
  return ['--import', 'tsx', `bench/${name}.ts`];
}

function implEnv(name: ImplName, zstackUrl: string, port: number, webhook: boolean): Record<string, string> {
  const env: Record<string, string> = {
    ZSTACK_URL: zstackUrl,
    PORT: String(port),
    HOST,
    NODE_ENV: 'production',
  };
  // The gateway runs at its default settings (LOG_LEVEL=info, metrics and limits on), as users run it.
  const isGateway = isSameBuild(name) || name === 'baseline';
  if (isGateway && webhook) env.ZSTACK_WEBHOOK_URL = `http://${HOST}:${port}/zstack-webhook`;
  const sw = SWITCHES[name];
  if (sw !== undefined) env[sw[0]] = sw[1];
  return env;
}

// ---------------------------------------------------------------------------------------------
// Upstream

async function upstreamCounts(port: number, method: 'GET' | 'DELETE'): Promise<Record<string, number>> {
  const res = await request(`http://${HOST}:${port}/__bench/counts`, { method });
  return (await res.body.json()) as Record<string, number>;
}

/** Median upstream round trip from here, for the 50 ms scenario's physical floor. */
async function upstreamRttMs(port: number): Promise<number> {
  const pool = new Pool(`http://${HOST}:${port}`, { connections: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < 220; i++) {
      const started = performance.now();
      const res = await pool.request({
        method: 'GET',
        path: '/zstack/v1/management-nodes/platform-timezone',
        headers: { authorization: `OAuth ${SESSION_UUID}` },
      });
      await res.body.text();
      if (i >= 20) times.push(performance.now() - started);
    }
  } finally {
    await pool.close();
  }
  return percentile(times, 0.5);
}

// ---------------------------------------------------------------------------------------------
// Checking answers

interface Sample {
  body?: string;
  data?: unknown;
  problem?: string;
}

function problemOf(status: number, text: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 300)}`;
  let parsed: { data?: unknown; errors?: unknown[] };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return `not JSON: ${text.slice(0, 300)}`;
  }
  if (parsed.errors !== undefined) return `GraphQL errors: ${JSON.stringify(parsed.errors).slice(0, 500)}`;
  if (parsed.data === undefined || parsed.data === null) return 'no data';
  return undefined;
}

async function sampleResponses(port: number, body: string): Promise<Sample> {
  let first: Sample | undefined;
  for (let i = 0; i < SAMPLE_REQUESTS; i++) {
    const res = await request(`http://${HOST}:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION_UUID}` },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    const problem = problemOf(res.statusCode, text);
    if (problem !== undefined) return { problem };
    first ??= { body: text, data: (JSON.parse(text) as { data: unknown }).data };
  }
  return first ?? { problem: 'no response' };
}

/** A path to the first place two JSON values differ, to make a mismatch actionable. */
function firstDifference(a: unknown, b: unknown, path = 'data'): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${JSON.stringify(a)?.slice(0, 120)} vs ${JSON.stringify(b)?.slice(0, 120)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (d !== undefined) return d;
  }
  return `${path}: key order differs`;
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Measurement {
  round: number;
  requestsPerSec: number;
  totalRequests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  upstreamCalls: Record<string, number>;
  upstreamCallsPerRequest: number;
  pollsPerJob: number | null;
  /** Share of one core each process used while measured: an upstream near 100 would be the bottleneck. */
  cpuPercent: number | null;
  upstreamCpuPercent: number | null;
  /** The implementation's CPU time (user + system) per answered request, in µs: steadier than req/s. */
  cpuUsPerRequest: number | null;
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function drive(
  port: number,
  body: string,
  connections: number,
  durationS: number,
  verifyBody?: (body: string) => boolean,
  latencies?: number[],
) {
  const instance = autocannon({
    url: `http://${HOST}:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION_UUID}` },
    body,
    connections,
    duration: durationS,
    ...(verifyBody ? { verifyBody } : {}),
  });
  // autocannon's own histogram has 1 ms resolution; keep exact times for p50/p99.
  if (latencies)
    instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => latencies.push(ms));
  return await instance;
}

async function measure(
  impl: Child,
  upstream: Child,
  scenario: Scenario,
  connections: number,
  settings: Settings,
  verifyBody: (body: string) => boolean,
  round: number,
): Promise<Measurement> {
  await drive(impl.port, scenario.body, connections, settings.warmupS);
  await settledCounts(upstream.port);
  await upstreamCounts(upstream.port, 'DELETE');
  const latencies: number[] = [];
  const cpuBefore = [cpuSeconds(impl.proc.pid), cpuSeconds(upstream.proc.pid)];
  const started = performance.now();
  const result = await drive(
    impl.port,
    scenario.body,
    connections,
    settings.durationS,
    verifyBody,
    latencies,
  );
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = [cpuSeconds(impl.proc.pid), cpuSeconds(upstream.proc.pid)];
  const cpuPercent = (i: number) => {
    const before = cpuBefore[i];
    const after = cpuAfter[i];
    return before == null || after == null ? null : ((after - before) / wallS) * 100;
  };
  // Requests cut off at the end still finish their upstream calls; count those against `sent`.
  const counts = await settledCounts(upstream.port);
  const calls = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const puts = counts['PUT /v1/tickets/{uuid}/actions'] ?? 0;
  const polls = counts['GET /v1/api-jobs/{uuid}'] ?? 0;
  const total = result.requests.total;
  const sent = Math.max(result.requests.sent, total);
  return {
    round,
    requestsPerSec: total / (result.duration || settings.durationS),
    totalRequests: total,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors: result.errors + result.non2xx + result.mismatches,
    upstreamCalls: counts,
    upstreamCallsPerRequest: sent === 0 ? Number.NaN : calls / sent,
    pollsPerJob: puts === 0 ? null : polls / puts,
    cpuPercent: cpuPercent(0),
    upstreamCpuPercent: cpuPercent(1),
    cpuUsPerRequest:
      cpuBefore[0] == null || cpuAfter[0] == null || total === 0
        ? null
        : ((cpuAfter[0] - cpuBefore[0]) / total) * 1e6,
  };
}

/** The upstream counts once they stop moving (in-flight requests done), bounded to two seconds. */
async function settledCounts(port: number): Promise<Record<string, number>> {
  let previous = await upstreamCounts(port, 'GET');
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = await upstreamCounts(port, 'GET');
    if (isDeepStrictEqual(current, previous)) return current;
    previous = current;
  }
  return previous;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Row {
  scenario: string;
  implementation: ImplName;
  concurrency: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number | null;
  upstreamCallsPerRequest: number;
  pollsPerJob: number | null;
  cpuPercent: number;
  upstreamCpuPercent: number;
  cpuUsPerRequest: number;
  errors: number;
  sampleProblem?: string;
  rounds: Measurement[];
}

interface ScenarioReport {
  scenario: string;
  jobLatencyMs: number;
  upstreamRttMs: number;
  /** The job's own time plus two upstream round trips: no implementation can answer faster. */
  physicalFloorMs: number;
  unavailable: Partial<Record<ImplName, string>>;
  rows: Row[];
}

async function runScenario(scenario: Scenario, settings: Settings): Promise<ScenarioReport> {
  console.log(`\n=== ${scenario.name} (upstream job latency ${scenario.jobLatencyMs} ms)`);
  const upstreamPort = await freePort();
  const upstream = startChild(
    'upstream',
    ['--import', 'tsx', 'bench/upstream.ts'],
    { PORT: String(upstreamPort), HOST, BENCH_JOB_LATENCY_MS: String(scenario.jobLatencyMs) },
    upstreamPort,
    pinning.loadCpu,
  );
  const upstreamFailure = await waitUntilAnswers(upstream, async () => {
    await upstreamCounts(upstreamPort, 'GET');
    return true;
  });
  if (upstreamFailure !== undefined) throw new Error(`the bench upstream did not start: ${upstreamFailure}`);
  const zstackUrl = `http://${HOST}:${upstreamPort}/zstack`;

  const unavailable: Partial<Record<ImplName, string>> = {};
  const running = new Map<ImplName, Child>();
  for (const name of settings.implementations) {
    if (isSameBuild(name) && !existsSync(join(ROOT, 'dist/src/server.js'))) {
      unavailable[name] = 'dist/src/server.js is missing (run `npm run build`)';
      continue;
    }
    if (
      name === 'baseline' &&
      (BASELINE_DIR === undefined || !existsSync(join(BASELINE_DIR, 'dist/src/server.js')))
    ) {
      unavailable[name] = 'set BENCH_BASELINE_DIR to a built checkout of another commit to compare with';
      continue;
    }
    const port = await freePort();
    const child = startChild(
      name,
      implArgs(name),
      implEnv(name, zstackUrl, port, scenario.webhook === true),
      port,
      pinning.serverCpu,
    );
    const failure = await waitUntilAnswers(child, () => answersGraphQL(port));
    if (failure !== undefined) {
      unavailable[name] = failure;
      await stopChild(child);
    } else {
      running.set(name, child);
    }
  }
  for (const [name, why] of Object.entries(unavailable))
    console.log(`  ${name}: unavailable, skipped. ${why}`);

  // The floor's answer is the reference: every implementation must return the same data.
  const samples = new Map<ImplName, Sample>();
  for (const [name, child] of running) samples.set(name, await sampleResponses(child.port, scenario.body));
  const reference = [samples.get('floor'), ...samples.values()].find((s) => s?.problem === undefined)?.data;
  for (const [name, sample] of samples) {
    if (sample.problem === undefined && reference !== undefined) {
      const diff = firstDifference(sample.data, reference);
      if (diff !== undefined) sample.problem = `data differs from the reference: ${diff}`;
    }
    if (sample.problem !== undefined) console.log(`  ${name}: WRONG ANSWER: ${sample.problem}`);
  }

  const upstreamRtt = await upstreamRttMs(upstreamPort);
  const measurements = new Map<string, Measurement[]>();
  const names = [...running.keys()];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const connections of scenario.concurrencies) {
      // Rotate who goes first each round so no implementation always runs on a fresh (or tired) machine.
      const order = names.map((_, i) => names[(i + round - 1) % names.length] as ImplName);
      for (const name of order) {
        const child = running.get(name);
        if (!child || child.exit !== undefined) continue;
        const sample = samples.get(name);
        const verify = verifier(sample, reference);
        const m = await measure(child, upstream, scenario, connections, settings, verify, round);
        const key = `${name}@${connections}`;
        measurements.set(key, [...(measurements.get(key) ?? []), m]);
        console.log(
          `  [round ${round}/${settings.rounds} c=${String(connections).padStart(3)}] ${name.padEnd(18)} ` +
            `${fmt(m.requestsPerSec, 0).padStart(7)} req/s  p50 ${fmt(m.p50Ms, 2)} ms  p99 ${fmt(m.p99Ms, 2)} ms  ` +
            `${fmt(m.upstreamCallsPerRequest, 2)} upstream/req${m.pollsPerJob === null ? '' : `  ${fmt(m.pollsPerJob, 2)} polls/job`}` +
            `  cpu ${fmt(m.cpuPercent, 0)}% (upstream ${fmt(m.upstreamCpuPercent, 0)}%) ${fmt(m.cpuUsPerRequest, 0)} µs/req` +
            `${m.errors > 0 ? `  ${m.errors} ERRORS` : ''}`,
        );
      }
    }
  }

  const rows: Row[] = [];
  for (const [name, child] of running) {
    const rss = peakRssMb(child.proc.pid);
    if (child.exit !== undefined)
      unavailable[name] = `died during the run (${child.exit}): ${child.output.slice(-500)}`;
    for (const connections of scenario.concurrencies) {
      const ms = measurements.get(`${name}@${connections}`) ?? [];
      const sampleProblem = samples.get(name)?.problem;
      rows.push({
        scenario: scenario.name,
        implementation: name,
        concurrency: connections,
        requestsPerSec: median(ms.map((m) => m.requestsPerSec)),
        p50Ms: median(ms.map((m) => m.p50Ms)),
        p99Ms: median(ms.map((m) => m.p99Ms)),
        peakRssMb: rss,
        upstreamCallsPerRequest: median(ms.map((m) => m.upstreamCallsPerRequest)),
        pollsPerJob: ms.some((m) => m.pollsPerJob !== null)
          ? median(ms.map((m) => m.pollsPerJob ?? Number.NaN))
          : null,
        cpuPercent: median(ms.map((m) => m.cpuPercent ?? Number.NaN)),
        upstreamCpuPercent: median(ms.map((m) => m.upstreamCpuPercent ?? Number.NaN)),
        cpuUsPerRequest: median(ms.map((m) => m.cpuUsPerRequest ?? Number.NaN)),
        errors:
          ms.reduce((sum, m) => sum + m.errors, 0) + (sampleProblem === undefined ? 0 : SAMPLE_REQUESTS),
        ...(sampleProblem === undefined ? {} : { sampleProblem }),
        rounds: ms,
      });
    }
  }
  await Promise.all([...running.values()].map(stopChild));
  await stopChild(upstream);
  return {
    scenario: scenario.name,
    jobLatencyMs: scenario.jobLatencyMs,
    upstreamRttMs: upstreamRtt,
    physicalFloorMs: scenario.jobLatencyMs + 2 * upstreamRtt,
    unavailable,
    rows,
  };
}

/** Cheap on the hot path (one string compare); parses only bodies that differ from the good sample. */
function verifier(sample: Sample | undefined, reference: unknown): (body: string) => boolean {
  const expected = sample?.problem === undefined ? sample?.body : undefined;
  return (body) => {
    if (body === expected) return true;
    try {
      const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown };
      if (parsed.errors !== undefined || parsed.data === undefined || parsed.data === null) return false;
      return reference === undefined || isDeepStrictEqual(parsed.data, reference);
    } catch {
      return false;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Reporting

function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function table(headers: string[], lines: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [render(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

interface Ratio {
  scenario: string;
  concurrency: number;
  versus: ImplName;
  requestsPerSecRatio: number;
  p99DeltaMs: number;
  peakRssRatio: number | null;
  /** A ratio over failing requests says nothing about speed. */
  withErrors: boolean;
}

function ratios(reports: ScenarioReport[]): Ratio[] {
  const out: Ratio[] = [];
  for (const report of reports) {
    const concurrencies = [...new Set(report.rows.map((r) => r.concurrency))];
    for (const concurrency of concurrencies) {
      const find = (impl: ImplName) =>
        report.rows.find((r) => r.implementation === impl && r.concurrency === concurrency);
      const gateway = find('gateway');
      if (!gateway) continue;
      for (const versus of [
        'gateway-yoga',
        'gateway-envelop-jit',
        'gateway-abort-controller',
        'floor',
        'bare',
        'mercurius',
        'mercurius-deployed',
        'apollo',
      ] as const) {
        const other = find(versus);
        if (!other) continue;
        out.push({
          scenario: report.scenario,
          concurrency,
          versus,
          requestsPerSecRatio: gateway.requestsPerSec / other.requestsPerSec,
          p99DeltaMs: gateway.p99Ms - other.p99Ms,
          peakRssRatio:
            gateway.peakRssMb !== null && other.peakRssMb !== null
              ? gateway.peakRssMb / other.peakRssMb
              : null,
          withErrors: gateway.errors > 0 || other.errors > 0,
        });
      }
    }
  }
  return out;
}

function printReport(reports: ScenarioReport[], ratioList: Ratio[]) {
  const lines: string[][] = [];
  for (const report of reports) {
    for (const r of report.rows) {
      lines.push([
        r.scenario,
        r.implementation,
        String(r.concurrency),
        fmt(r.requestsPerSec, 0),
        fmt(r.p50Ms, 2),
        fmt(r.p99Ms, 2),
        fmt(r.peakRssMb, 1),
        fmt(r.upstreamCallsPerRequest, 2),
        r.pollsPerJob === null ? '-' : fmt(r.pollsPerJob, 2),
        fmt(r.cpuPercent, 0),
        fmt(r.upstreamCpuPercent, 0),
        fmt(r.cpuUsPerRequest, 0),
        r.errors === 0 ? '0' : `${r.errors} !`,
      ]);
    }
  }
  console.log('\nResults (req/s, p50 and p99 are medians over rounds; errors are summed)\n');
  console.log(
    table(
      [
        'scenario',
        'implementation',
        'conc',
        'req/s',
        'p50 ms',
        'p99 ms',
        'peak RSS MB',
        'upstream/req',
        'polls/job',
        'cpu %',
        'upstream cpu %',
        'cpu µs/req',
        'errors',
      ],
      lines,
    ),
  );
  const missing = reports.flatMap((r) =>
    Object.entries(r.unavailable).map(
      ([impl, why]) => `  ${r.scenario} ${impl}: ${why.split('\n')[0]?.slice(0, 200)}`,
    ),
  );
  if (missing.length > 0) console.log(`\nUnavailable (not measured):\n${missing.join('\n')}`);

  const problems = [
    ...new Set(
      reports.flatMap((r) =>
        r.rows
          .filter((row) => row.sampleProblem)
          .map((row) => `  ${row.scenario} ${row.implementation}: ${row.sampleProblem}`),
      ),
    ),
  ];
  if (problems.length > 0)
    console.log(`\nWrong answers (their measurements count as errors):\n${problems.join('\n')}`);

  console.log('\nGateway ratios (req/s gateway ÷ peer; p99 and RSS against the same peer)\n');
  if (ratioList.length === 0) {
    console.log('  none: the gateway was unavailable');
  } else {
    console.log(
      table(
        ['scenario', 'versus', 'conc', 'req/s ratio', 'p99 Δ ms', 'RSS ratio', 'note'],
        ratioList.map((r) => [
          r.scenario,
          r.versus,
          String(r.concurrency),
          fmt(r.requestsPerSecRatio, 2),
          fmt(r.p99DeltaMs, 2),
          fmt(r.peakRssRatio, 2),
          r.withErrors ? 'errors: not comparable' : '',
        ]),
      ),
    );
  }

  for (const report of reports.filter((r) => r.jobLatencyMs > 0)) {
    console.log(
      `\n${report.scenario}: physical floor ${fmt(report.physicalFloorMs, 2)} ms ` +
        `(job ${report.jobLatencyMs} ms + 2 × upstream round trip ${fmt(report.upstreamRttMs, 3)} ms)`,
    );
    for (const r of report.rows) {
      console.log(
        `  ${r.implementation.padEnd(18)} c=${r.concurrency}: p50 ${fmt(r.p50Ms, 2)} ms, ` +
          `${fmt(r.p50Ms - report.physicalFloorMs, 2)} ms above the floor, ${fmt(r.pollsPerJob, 2)} polls/job`,
      );
    }
  }
}

const JSON_LINE_WIDTH = 110;

/**
 * JSON.stringify(…, 2) except that short arrays of scalars stay on one line: the layout Biome gives
 * JSON, so results files under bench/ pass `npm run lint` as written.
 */
function formatJson(value: unknown, indent: string, column: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const inline = `[${value.map((v) => JSON.stringify(v ?? null)).join(', ')}]`;
      if (column + inline.length + 1 <= JSON_LINE_WIDTH) return inline;
    }
    const items = value.map((v) => `${inner}${formatJson(v, inner, inner.length)}`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([k, v]) => {
    const head = `${inner}${JSON.stringify(k)}: `;
    return `${head}${formatJson(v, inner, head.length)}`;
  });
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

async function main() {
  const settings = loadSettings(process.argv.slice(2), process.env);
  pinning = setUpPinning(process.env);
  const startedAt = new Date();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
  };
  console.log(
    `bench: ${settings.rounds} round(s) × ${settings.durationS} s (warm-up ${settings.warmupS} s), ` +
      `implementations ${settings.implementations.join(', ')}; ${machine.cpus} × ${machine.cpu}, node ${machine.node}`,
  );
  console.log(
    pinning.enabled
      ? `pinned: the server under test on core ${pinning.serverCpu}, autocannon and the upstream on core ${pinning.loadCpu}`
      : `not pinned (${pinning.reason}): autocannon, the upstream and the server share every core`,
  );

  const reports: ScenarioReport[] = [];
  for (const scenario of settings.scenarios) reports.push(await runScenario(scenario, settings));
  const ratioList = ratios(reports);
  printReport(reports, ratioList);

  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    pinning,
    settings: {
      quick: settings.quick,
      rounds: settings.rounds,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      scenarios: settings.scenarios.map((s) => s.name),
      implementations: settings.implementations,
    },
    scenarios: reports,
    ratios: ratioList,
  };
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const json = `${formatJson(results, '', 0)}\n`;
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  console.log(`\nwrote ${file} and bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    killAllNow();
    process.exit(1);
  },
);
