import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { SCENARIOS, SESSION_UUID } from '../bench/operations.js';
const scenario = SCENARIOS.find((s) => s.name === (process.env.SCENARIO ?? 'mutation'))!;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function main() {
  const up = spawn(process.execPath, ['--import', 'tsx', 'bench/upstream.ts'], { env: { ...process.env, PORT: '18091', BENCH_JOB_LATENCY_MS: '0' }, stdio: 'ignore' });
  await wait(2500);
  const dir = process.env.BUILD ?? '/work/main';
  const gw = spawn(process.execPath, [`${dir}/dist/src/server.js`], { cwd: dir, env: { ...process.env, ZSTACK_URL: 'http://127.0.0.1:18091/zstack', PORT: '18201', HOST: '127.0.0.1', NODE_ENV: 'production', ZSTACK_TIME_ZONE: 'UTC' }, stdio: ['ignore', 'ignore', 'inherit'] });
  await wait(1500);
  const opts = { url: 'http://127.0.0.1:18201/graphql', method: 'POST' as const, headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION_UUID}` }, body: scenario.body, connections: 10 };
  const r = await autocannon({ ...opts, amount: 10000 });
  console.log('errors', r.errors, 'timeouts', r.timeouts, 'resets', r.resets, 'non2xx', r.non2xx, 'rps', r.requests.average, r['2xx']);
  gw.kill('SIGTERM');
  await new Promise((res) => gw.once('exit', res));
  up.kill('SIGKILL');
}
void main();
