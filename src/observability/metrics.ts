import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { JobEvent, UpstreamCallEvent } from '../zstack/client.js';

export interface Metrics {
  /** This gateway's own registry (never prom-client's global one, so two gateways never collide). */
  readonly registry: Registry;
  /** One finished GraphQL request: its operation name (as sent), first error code or 'OK', and duration. */
  observeRequest(operation: string | undefined, code: string, seconds: number): void;
  /** For the upstream client's `onCall`. */
  onCall(e: UpstreamCallEvent): void;
  /** For the upstream client's `onJob`. */
  onJob(e: JobEvent): void;
}

/** Operation names come from callers: keep the label set bounded whatever they send. */
const MAX_OPERATIONS = 200;
/** Routes are templates, but an id that is not 32 hex stays in the path. */
const MAX_ROUTES = 200;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

class BoundedLabels {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return '__other';
    this.seen.add(value);
    return value;
  }
}

/** Prometheus metrics for requests, upstream calls and jobs, in a registry of their own. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome (first error code, or OK).',
    labelNames: ['operation', 'code'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to the end of its response.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'zstack_upstream_duration_seconds',
    help: 'One HTTP exchange with ZStack, body included, by route template and status ("error": no answer).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: 'zstack_job_wait_seconds',
    help: 'How long a write waited for its ZStack job, by route and outcome.',
    labelNames: ['route', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const jobPolls = new Histogram({
    name: 'zstack_job_polls',
    help: 'Polls of the job endpoint per waited job, by route and outcome.',
    labelNames: ['route', 'outcome'] as const,
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
    registers: [registry],
  });

  const operations = new BoundedLabels(MAX_OPERATIONS);
  const routes = new BoundedLabels(MAX_ROUTES);
  const operationLabel = (name: string | undefined) =>
    name === undefined ? 'anonymous' : NAME.test(name) ? operations.label(name) : '__invalid';

  return {
    registry,
    observeRequest(operation, code, seconds) {
      const op = operationLabel(operation);
      requests.inc({ operation: op, code: CODE.test(code) ? code : 'OTHER' });
      requestDuration.observe({ operation: op }, seconds);
    },
    onCall(e) {
      upstream.observe(
        { method: e.method, route: routes.label(e.route), status: String(e.status) },
        e.durationMs / 1000,
      );
    },
    onJob(e) {
      const labels = { route: routes.label(e.route), outcome: e.outcome };
      jobWait.observe(labels, e.waitMs / 1000);
      jobPolls.observe(labels, e.polls);
    },
  };
}
