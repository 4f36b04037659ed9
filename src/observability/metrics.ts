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

/** Most label sets whose series handle is kept; past it the cache starts over (labels are bounded anyway). */
const MAX_CACHED_SERIES = 10_000;

/**
 * Series handles by label values. prom-client hashes a label object on every observe (sorting
 * its keys); the handle of a label set, looked up by one string, skips that per call.
 */
class SeriesCache<T> {
  private readonly series = new Map<string, T>();
  constructor(private readonly create: (values: readonly string[]) => T) {}
  get(key: string, values: readonly string[]): T {
    let handle = this.series.get(key);
    if (handle === undefined) {
      if (this.series.size >= MAX_CACHED_SERIES) this.series.clear();
      handle = this.create(values);
      this.series.set(key, handle);
    }
    return handle;
  }
}

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

  const requestSeries = new SeriesCache(([operation = '', code = '']) => ({
    count: requests.labels({ operation, code }),
    duration: requestDuration.labels({ operation }),
  }));
  const upstreamSeries = new SeriesCache(([method = '', route = '', status = '']) =>
    upstream.labels({ method, route, status }),
  );
  const jobSeries = new SeriesCache(([route = '', outcome = '']) => ({
    wait: jobWait.labels({ route, outcome }),
    polls: jobPolls.labels({ route, outcome }),
  }));

  return {
    registry,
    observeRequest(operation, code, seconds) {
      const op = operationLabel(operation);
      const c = CODE.test(code) ? code : 'OTHER';
      const series = requestSeries.get(`${op} ${c}`, [op, c]);
      series.count.inc();
      series.duration.observe(seconds);
    },
    onCall(e) {
      const route = routes.label(e.route);
      const status = String(e.status);
      upstreamSeries
        .get(`${e.method} ${route} ${status}`, [e.method, route, status])
        .observe(e.durationMs / 1000);
    },
    onJob(e) {
      const route = routes.label(e.route);
      const series = jobSeries.get(`${route} ${e.outcome}`, [route, e.outcome]);
      series.wait.observe(e.waitMs / 1000);
      series.polls.observe(e.polls);
    },
  };
}
