/**
 * The request path's metrics, ours (FastMetric) against prom-client's own Counter and Histogram
 * (createMetrics's `impl`), on what one `mutation` of the bench observes (src/http/request-log.ts):
 *
 * - observeRequest: graphql_requests_total +1 and graphql_request_duration_seconds, one observation;
 * - onCall × 2 (the PUT, then the one job poll): zstack_upstream_duration_seconds, one observation each;
 * - onJob × 1: zstack_job_wait_seconds and zstack_job_polls, one observation each.
 *
 * That is 1 counter increment and 5 histogram observations per mutation, label bounding included
 * (the same in both). The events are made once: the caller builds them whatever metrics do.
 * Rounds alternate A and B (who goes first too); process CPU (user + system) per mutation.
 * Then the cost of one /metrics scrape (default metrics on, as the gateway runs) for each.
 *
 *   nice -n 10 npx tsx bench/ab/metrics.ts
 */
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { JobEvent, UpstreamCallEvent } from '../../src/zstack/client.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 10);
const MUTATIONS = Number(process.env.AB_MUTATIONS ?? 200_000);
const SCRAPES = Number(process.env.AB_SCRAPES ?? 300);

const ACTIONS = '/v1/tickets/{uuid}/actions';
const JOBS = '/v1/api-jobs/{uuid}';

/** Eight mutations' worth of events, durations spread over a few buckets as a run's would be. */
const EVENTS = Array.from({ length: 8 }, (_, i) => {
  const ms = 1.5 + i * 0.9;
  const put: UpstreamCallEvent = {
    method: 'PUT',
    route: ACTIONS,
    status: 202,
    durationMs: ms,
    tag: undefined,
  };
  const poll: UpstreamCallEvent = {
    method: 'GET',
    route: JOBS,
    status: 200,
    durationMs: ms / 2,
    tag: undefined,
  };
  const job: JobEvent = {
    jobUuid: 'f'.repeat(32),
    route: ACTIONS,
    polls: 1,
    waitMs: Math.round(ms),
    outcome: 'succeeded',
    tag: undefined,
  };
  return { seconds: (ms * 3) / 1000, put, poll, job };
});

/** One mutation's observations, in the order the gateway makes them. */
function mutation(m: Metrics, i: number): void {
  const e = EVENTS[i & 7] as (typeof EVENTS)[number];
  m.onCall(e.put);
  m.onCall(e.poll);
  m.onJob(e.job);
  m.observeRequest('Approve', 'OK', e.seconds, true);
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

function mutations(m: Metrics, n: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) mutation(m, i);
  return cpuMicros(started) / n;
}

async function scrapes(m: Metrics, n: number): Promise<number> {
  const started = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += (await m.registry.metrics()).length;
  if (bytes === 0) throw new Error('empty scrape');
  return cpuMicros(started) / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const impls = ['ours', 'prom-client'] as const;
type Impl = (typeof impls)[number];
// Default metrics on, as the gateway runs: a scrape reads them too (the same cost in both).
const metrics = {
  ours: createMetrics({ impl: 'ours' }),
  'prom-client': createMetrics({ impl: 'prom-client' }),
};

// Warm-up: both reach their optimised code before anything is counted.
for (const impl of impls) mutations(metrics[impl], MUTATIONS);

const perMutation: Record<Impl, number[]> = { ours: [], 'prom-client': [] };
console.log(
  `${ROUNDS} rounds × ${MUTATIONS} mutations each (1 counter inc + 5 histogram observations per mutation)`,
);
console.log('round  ours µs/mutation  prom-client µs/mutation  saved µs');
for (let round = 0; round < ROUNDS; round++) {
  const order: readonly Impl[] = round % 2 === 0 ? impls : [...impls].reverse();
  for (const impl of order) perMutation[impl].push(mutations(metrics[impl], MUTATIONS));
  const a = perMutation.ours[round] as number;
  const b = perMutation['prom-client'][round] as number;
  console.log(
    `${String(round + 1).padStart(5)}  ${a.toFixed(3).padStart(16)}  ${b.toFixed(3).padStart(23)}  ${(b - a).toFixed(3).padStart(8)}`,
  );
}
const savedPerRound = perMutation.ours.map((a, i) => (perMutation['prom-client'][i] as number) - a);
console.log(
  `median  ours ${median(perMutation.ours).toFixed(3)} µs, prom-client ${median(perMutation['prom-client']).toFixed(3)} µs, ours saves ${median(savedPerRound).toFixed(3)} µs per mutation (median of the rounds' differences)`,
);

// One scrape: the series one mutation run leaves, plus the default metrics.
for (const impl of impls) await scrapes(metrics[impl], 20);
const perScrape: Record<Impl, number[]> = { ours: [], 'prom-client': [] };
for (let round = 0; round < 5; round++) {
  const order: readonly Impl[] = round % 2 === 0 ? impls : [...impls].reverse();
  for (const impl of order) perScrape[impl].push(await scrapes(metrics[impl], SCRAPES));
}
console.log(
  `/metrics scrape (5 rounds × ${SCRAPES}): ours ${median(perScrape.ours).toFixed(0)} µs, prom-client ${median(perScrape['prom-client']).toFixed(0)} µs (rounds: ours ${perScrape.ours.map((x) => x.toFixed(0)).join(' ')}; prom-client ${perScrape['prom-client'].map((x) => x.toFixed(0)).join(' ')})`,
);
