/** The standalone simulator's settings: flags win over env, env over the defaults. */
import { parseArgs } from 'node:util';
import type { SimulatorOptions } from './types.js';

function intOrUndefined(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return Number(v);
}

function positiveOrUndefined(name: string, v: string | undefined): number | undefined {
  const n = intOrUndefined(name, v);
  if (n === 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

/** Reads `npm run simulator`'s flags and SIMULATOR_* env vars; throws on a malformed value. */
export function loadSimulatorOptions(argv: string[], env: NodeJS.ProcessEnv): SimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'job-latency-ms': { type: 'string' },
      'session-timeout-sec': { type: 'string' },
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
    sessionTimeoutSec:
      positiveOrUndefined(
        'session timeout',
        values['session-timeout-sec'] ?? env.SIMULATOR_SESSION_TIMEOUT_SEC,
      ) ?? 7200,
    timeZone: values['time-zone'] ?? env.SIMULATOR_TIME_ZONE ?? 'UTC',
    advertisedHost: values['advertised-host'] ?? env.SIMULATOR_ADVERTISED_HOST,
    contentType: values['content-type'] ?? false,
    seed: !values['no-seed'],
  };
}
