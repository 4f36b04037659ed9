/** Standalone entry: `npm run simulator` (options from env or flags, flags win). */
import { parseArgs } from 'node:util';
import { startSimulator } from './index.js';
import type { SimulatorOptions } from './types.js';

function intOrUndefined(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return Number(v);
}

function loadOptions(argv: string[], env: NodeJS.ProcessEnv): SimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'job-latency-ms': { type: 'string' },
      'time-zone': { type: 'string' },
      'advertised-host': { type: 'string' },
      'content-type': { type: 'boolean' },
      'no-seed': { type: 'boolean' },
    },
  });
  return {
    port: intOrUndefined('port', values.port ?? env.SIMULATOR_PORT) ?? 8080,
    host: values.host ?? env.SIMULATOR_HOST ?? '127.0.0.1',
    jobLatencyMs:
      intOrUndefined('job latency', values['job-latency-ms'] ?? env.SIMULATOR_JOB_LATENCY_MS) ?? 0,
    timeZone: values['time-zone'] ?? env.SIMULATOR_TIME_ZONE ?? 'UTC',
    advertisedHost: values['advertised-host'] ?? env.SIMULATOR_ADVERTISED_HOST,
    contentType: values['content-type'] ?? false,
    seed: !values['no-seed'],
  };
}

const sim = await startSimulator(loadOptions(process.argv.slice(2), process.env));
const demo = sim.controls.demo;
const lines = [
  `ZStack simulator listening on ${sim.url}`,
  `  admin account:   ${demo.admin.accountName} / ${demo.admin.password}`,
  ...demo.submitters.map((s) => `  submitter (IAM2 virtual ID): ${s.name} / ${s.password}`),
  ...demo.approvers.map((a, i) => `  approver of flow ${i + 1} (IAM2 virtual ID): ${a.name} / ${a.password}`),
  ...(demo.user ? [`  user: ${demo.user.accountName}/${demo.user.userName} / ${demo.user.password}`] : []),
  '  passwords go over the wire as lowercase SHA-512 hex',
];
console.log(lines.join('\n'));

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
