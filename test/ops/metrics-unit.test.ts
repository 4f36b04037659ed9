import { Counter, Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';

/** The observations below, written out by hand as metric specs and label objects: what a scrape must read. */
async function expectedText(): Promise<string> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome (first error code, or OK).',
    labelNames: ['operation', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to the end of its response.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const http = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests to paths other than /graphql (unknown paths, GraphiQL assets), by status; /health, /ready and /metrics are not counted.',
    labelNames: ['status'],
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'zstack_upstream_duration_seconds',
    help: 'One HTTP exchange with ZStack, body included, by route template and status ("error": no answer).',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: 'zstack_job_wait_seconds',
    help: 'How long a write waited for its ZStack job, by route and outcome.',
    labelNames: ['route', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const jobPolls = new Histogram({
    name: 'zstack_job_polls',
    help: 'Polls of the job endpoint per waited job, by route and outcome.',
    labelNames: ['route', 'outcome'],
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
    registers: [registry],
  });
  const redisRejected = new Counter({
    name: 'redis_messages_rejected_total',
    help: 'Redis messages and shared-log entries dropped unread, by reason: signature (not signed with REDIS_KEY_SECRET), too_large (over REDIS_MAX_MESSAGE_BYTES), malformed.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['signature', 'too_large', 'malformed']) redisRejected.inc({ reason }, 0);
  redisRejected.inc({ reason: 'signature' });
  requests.inc({ operation: 'Approve', code: 'OK' });
  requests.inc({ operation: 'Approve', code: 'OK' });
  requests.inc({ operation: 'anonymous', code: 'UNAUTHENTICATED' });
  duration.observe({ operation: 'Approve' }, 0.01);
  duration.observe({ operation: 'Approve' }, 0.3);
  duration.observe({ operation: 'anonymous' }, 99);
  http.inc({ status: '404' });
  http.inc({ status: '404' });
  const route = '/v1/tickets/{uuid}/actions';
  upstream.observe({ method: 'PUT', route, status: '202' }, 0.002);
  upstream.observe({ method: 'GET', route: '/v1/api-jobs/{uuid}', status: 'error' }, 20);
  jobWait.observe({ route, outcome: 'succeeded' }, 0.004);
  jobPolls.observe({ route, outcome: 'succeeded' }, 3);
  return registry.metrics();
}

it('reads, when scraped, as the counters and histograms above: names, help, bounded label values, bucket edges', async () => {
  const m = createMetrics({ defaultMetrics: false });
  m.observeRequest('Approve', 'OK', 0.01);
  m.observeRequest('Approve', 'OK', 0.3);
  m.observeRequest(undefined, 'UNAUTHENTICATED', 99);
  m.observeHttp(404);
  m.observeHttp(404);
  const route = '/v1/tickets/{uuid}/actions';
  m.onCall({ method: 'PUT', route, status: 202, durationMs: 2, tag: undefined });
  m.onCall({
    method: 'GET',
    route: '/v1/api-jobs/{uuid}',
    status: 'error',
    durationMs: 20_000,
    tag: undefined,
  });
  m.onJob({ jobUuid: 'j', route, polls: 3, waitMs: 4, outcome: 'succeeded', tag: undefined });
  m.onRedisRejected('signature');
  expect(await m.registry.metrics()).toBe(await expectedText());
});
