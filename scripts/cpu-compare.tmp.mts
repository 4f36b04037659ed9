// CPU µs per request of gateway builds (process utime+stime), alternating, against bench/upstream.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { SCENARIOS, SESSION_UUID } from '../bench/operations.js';

const builds = (process.env.BUILDS ?? '/work/main,/work/base').split(',');
const scenario = SCENARIOS.find((s) => s.name === (process.env.SCENARIO ?? 'mutation'))!;
const N = Number(process.env.N ?? 6000);
const C = Number(process.env.C ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const cpuOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / 100;
};
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
function start(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}
async function main() {
const up = start(['--import', 'tsx', 'bench/upstream.ts'], { PORT: '18090', BENCH_JOB_LATENCY_MS: String(scenario.jobLatencyMs) }, '/work/main');
await wait(2500);
const results: Record<string, number[]> = {};
const rps: Record<string, number[]> = {};
let port = 18100;
for (let r = 0; r < ROUNDS; r++) {
  for (const b of builds) {
    port++;
    const env: Record<string, string> = { ZSTACK_URL: 'http://127.0.0.1:18090/zstack', PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', ...(process.env.GW_ENV ? JSON.parse(process.env.GW_ENV) : {}) };
    const gw = start([`${b}/dist/src/server.js`], env, b);
    await wait(1500);
    const opts = { url: `http://127.0.0.1:${port}/graphql`, method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION_UUID}` }, body: scenario.body, connections: C };
    await autocannon({ ...opts, amount: 1500 });
    const c0 = cpuOf(gw.pid!);
    const t0 = performance.now();
    const res = await autocannon({ ...opts, amount: N });
    const secs = (performance.now() - t0) / 1000;
    const us = ((cpuOf(gw.pid!) - c0) / N) * 1e6;
    (results[b] ??= []).push(Math.round(us));
    (rps[b] ??= []).push(Math.round(N / secs));
    if (res.non2xx || res.errors) console.log(b, 'errors', res.non2xx, res.errors);
    gw.kill('SIGKILL');
    await wait(300);
  }
}
up.kill('SIGKILL');
for (const b of builds) console.log(`${b}: cpu µs/req ${results[b]?.join(' ')}  req/s ${rps[b]?.join(' ')}`);
process.exit(0);
}
void main();
