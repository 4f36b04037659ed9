import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { JobEvent, UpstreamCallEvent } from '../zstack/client.js';

export interface Metrics {
  /** This gateway's own registry (never prom-client's global one, so two gateways never collide). */
  readonly registry: Registry;
  /**
   * One finished GraphQL request: its operation name (as sent), first error code or 'OK', duration,
   * and whether ZStack accepted its session (`identified`; default true). Only an identified request
   * claims one of the named slots; any other names its operation from a small pool of its own.
   */
  observeRequest(operation: string | undefined, code: string, seconds: number, identified?: boolean): void;
  /**
   * One finished HTTP request to a path other than /graphql (a 404 from a scanner, GraphiQL's assets):
   * counted by status only, so it never shows in the GraphQL metrics.
   */
  observeHttp(status: number): void;
  /** For the upstream client's `onCall`. */
  onCall(e: UpstreamCallEvent): void;
  /** For the upstream client's `onJob`. */
  onJob(e: JobEvent): void;
  /** A Redis message or log entry dropped unread: bad signature, too large, or not one. */
  onRedisRejected(reason: 'signature' | 'too_large' | 'malformed'): void;
}

/** Operation names come from callers: keep the label set bounded whatever they send. */
const MAX_OPERATIONS = 200;
/**
 * Names of operations no accepted session ran (logIn, anything sent without a session or with a
 * made-up one): anyone can send 200 valid `query JunkN { __typename }` anonymously, so they get a
 * pool of their own and never take the slots of the operations of users ZStack knows.
 */
const MAX_ANONYMOUS_OPERATIONS = 20;
/** Routes are templates, but an id that is not 32 hex stays in the path. */
const MAX_ROUTES = 200;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

class BoundedLabels {
  private readonly seen = new Set<string>();
  constructor(
    private readonly max: number,
    private readonly overflow = '__other',
  ) {}
  has(value: string): boolean {
    return this.seen.has(value);
  }
  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return this.overflow;
    this.seen.add(value);
    return value;
  }
}

/** Prometheus metrics for requests, upstream calls and jobs, in a registry of their own. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Labels go as an object: of prom-client's documented forms the cheapest per observation
  // (`.labels(a, b)` builds that object, then binds or closes over it, on every call).
  const requests = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome (first error code, or OK).',
    labelNames: ['operation', 'code'],
    registers,
  });
  const requestDuration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to the end of its response.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const http = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests to paths other than /graphql (unknown paths, GraphiQL assets), by status; /health, /ready and /metrics are not counted.',
    labelNames: ['status'],
    registers,
  });
  const upstream = new Histogram({
    name: 'zstack_upstream_duration_seconds',
    help: 'One HTTP exchange with ZStack, body included, by route template and status ("error": no answer).',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers,
  });
  const jobWait = new Histogram({
    name: 'zstack_job_wait_seconds',
    help: 'How long a write waited for its ZStack job, by route and outcome.',
    labelNames: ['route', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const jobPolls = new Histogram({
    name: 'zstack_job_polls',
    help: 'Polls of the job endpoint per waited job, by route and outcome.',
    labelNames: ['route', 'outcome'],
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
    registers,
  });
  const redisRejected = new Counter({
    name: 'redis_messages_rejected_total',
    help: 'Redis messages and shared-log entries dropped unread, by reason: signature (not signed with REDIS_KEY_SECRET), too_large (over REDIS_MAX_MESSAGE_BYTES), malformed.',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['signature', 'too_large', 'malformed']) redisRejected.inc({ reason }, 0);

  const operations = new BoundedLabels(MAX_OPERATIONS);
  const anonymousOperations = new BoundedLabels(MAX_ANONYMOUS_OPERATIONS, '__anonymous_other');
  const routes = new BoundedLabels(MAX_ROUTES);
  const operationLabel = (name: string | undefined, identified: boolean) => {
    if (name === undefined) return 'anonymous';
    if (!NAME.test(name)) return '__invalid';
    if (identified || operations.has(name)) return operations.label(name);
    return anonymousOperations.label(name);
  };

  return {
    registry,
    observeRequest(name, code, seconds, identified = true) {
      const operation = operationLabel(name, identified);
      requests.inc({ operation, code: CODE.test(code) ? code : 'OTHER' });
      requestDuration.observe({ operation }, seconds);
    },
    observeHttp(code) {
      // A status is a 3-digit number: at most 500 series whatever callers send.
      const status = Number.isInteger(code) && code >= 100 && code <= 599 ? String(code) : 'other';
      http.inc({ status });
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
    onRedisRejected(reason) {
      redisRejected.inc({ reason });
    },
  };
}
