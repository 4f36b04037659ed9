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

interface Series {
  labels: Record<string, string>;
  /** Per bucket (not cumulative); the last one is +Inf. Unused by counters. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus counter or histogram on the request path, registered in prom-client's registry as a
 * metric of its own (the registry's public `registerMetric`, read through `get()` when scraped).
 * prom-client's own metrics validate and hash the label object on every observation; here a caller
 * names the series by a key it builds from label values it already bounded, so observing is one Map
 * lookup and a few additions. The labels object is only built the first time a key is seen.
 */
class FastMetric {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[] = [],
  ) {}

  /** The series of `key`, which stands for exactly the label values `values` (in labelNames order). */
  private seriesOf(key: string, values: readonly string[]): Series {
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? '';
      });
      s = { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /** A histogram observation. */
  observe(key: string, values: readonly string[], value: number): void {
    const s = this.seriesOf(key, values);
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] as number)) i++;
    (s.counts[i] as number)++;
    s.sum += value;
    s.count++;
  }

  /** A counter increment. */
  inc(key: string, values: readonly string[]): void {
    this.seriesOf(key, values).count++;
  }

  /** The registry's view, shaped as prom-client's own histograms export (`le` first). */
  get() {
    const values: {
      labels: Record<string, string | number>;
      sharedLabels?: Record<string, string>;
      value: number;
      metricName?: string;
    }[] = [];
    for (const s of this.series.values()) {
      if (this.type === 'counter') {
        values.push({ labels: s.labels, value: s.count });
        continue;
      }
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i] as number;
        const le = i < this.buckets.length ? (this.buckets[i] as number) : '+Inf';
        values.push({
          labels: { le },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}

/** One metric of the request path: what both implementations below register. */
interface Spec {
  name: string;
  help: string;
  labelNames: string[];
  buckets?: number[];
}

const REQUESTS: Spec = {
  name: 'graphql_requests_total',
  help: 'GraphQL requests by operation name and outcome (first error code, or OK).',
  labelNames: ['operation', 'code'],
};
const REQUEST_DURATION: Spec = {
  name: 'graphql_request_duration_seconds',
  help: 'Time from receiving a GraphQL request to the end of its response.',
  labelNames: ['operation'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
};
const UPSTREAM: Spec = {
  name: 'zstack_upstream_duration_seconds',
  help: 'One HTTP exchange with ZStack, body included, by route template and status ("error": no answer).',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
};
const JOB_WAIT: Spec = {
  name: 'zstack_job_wait_seconds',
  help: 'How long a write waited for its ZStack job, by route and outcome.',
  labelNames: ['route', 'outcome'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
};
const JOB_POLLS: Spec = {
  name: 'zstack_job_polls',
  help: 'Polls of the job endpoint per waited job, by route and outcome.',
  labelNames: ['route', 'outcome'],
  buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
};
const HTTP: Spec = {
  name: 'http_requests_total',
  help: 'HTTP requests to paths other than /graphql (unknown paths, GraphiQL assets), by status; /health, /ready and /metrics are not counted.',
  labelNames: ['status'],
};

/** The request path's observations, with labels already bounded. */
interface Instruments {
  request(operation: string, code: string, seconds: number): void;
  http(status: string): void;
  call(method: string, route: string, status: string, seconds: number): void;
  job(route: string, outcome: string, waitSeconds: number, polls: number): void;
}

function fastInstruments(registry: Registry): Instruments {
  const fast = (spec: Spec, type: 'counter' | 'histogram') =>
    new FastMetric(spec.name, spec.help, type, spec.labelNames, spec.buckets);
  const requests = fast(REQUESTS, 'counter');
  const requestDuration = fast(REQUEST_DURATION, 'histogram');
  const upstream = fast(UPSTREAM, 'histogram');
  const jobWait = fast(JOB_WAIT, 'histogram');
  const jobPolls = fast(JOB_POLLS, 'histogram');
  const http = fast(HTTP, 'counter');
  for (const metric of [requests, requestDuration, http, upstream, jobWait, jobPolls])
    registry.registerMetric(metric as never);
  // Keys join label values with a character none of them can hold (names, codes, methods and
  // statuses are plain words; routes are paths): one key per series.
  return {
    request(op, code, seconds) {
      requests.inc(`${op}\n${code}`, [op, code]);
      requestDuration.observe(op, [op], seconds);
    },
    http(status) {
      http.inc(status, [status]);
    },
    call(method, route, status, seconds) {
      upstream.observe(`${method}\n${route}\n${status}`, [method, route, status], seconds);
    },
    job(route, outcome, waitSeconds, polls) {
      const key = `${route}\n${outcome}`;
      const values = [route, outcome];
      jobWait.observe(key, values, waitSeconds);
      jobPolls.observe(key, values, polls);
    },
  };
}

/**
 * prom-client's own Counter and Histogram, labels passed as an object: of its documented forms the
 * cheapest per observation (`.labels(a, b)` builds that object, and binds or closes over it, each call).
 */
function promClientInstruments(registry: Registry): Instruments {
  const registers = [registry];
  const requests = new Counter({ ...REQUESTS, registers });
  const requestDuration = new Histogram({ ...REQUEST_DURATION, registers });
  const http = new Counter({ ...HTTP, registers });
  const upstream = new Histogram({ ...UPSTREAM, registers });
  const jobWait = new Histogram({ ...JOB_WAIT, registers });
  const jobPolls = new Histogram({ ...JOB_POLLS, registers });
  return {
    request(operation, code, seconds) {
      requests.inc({ operation, code });
      requestDuration.observe({ operation }, seconds);
    },
    http(status) {
      http.inc({ status });
    },
    call(method, route, status, seconds) {
      upstream.observe({ method, route, status }, seconds);
    },
    job(route, outcome, waitSeconds, polls) {
      jobWait.observe({ route, outcome }, waitSeconds);
      jobPolls.observe({ route, outcome }, polls);
    },
  };
}

/** Prometheus metrics for requests, upstream calls and jobs, in a registry of their own. */
export function createMetrics(
  options: {
    defaultMetrics?: boolean;
    /**
     * The request path's counters and histograms: ours (FastMetric, default) or prom-client's own
     * (METRICS_IMPL=prom-client, for the bench's side-by-side row). Same names, labels and values.
     */
    impl?: 'ours' | 'prom-client';
  } = {},
): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const instruments =
    options.impl === 'prom-client' ? promClientInstruments(registry) : fastInstruments(registry);
  const redisRejected = new Counter({
    name: 'redis_messages_rejected_total',
    help: 'Redis messages and shared-log entries dropped unread, by reason: signature (not signed with REDIS_KEY_SECRET), too_large (over REDIS_MAX_MESSAGE_BYTES), malformed.',
    labelNames: ['reason'],
    registers: [registry],
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
    observeRequest(operation, code, seconds, identified = true) {
      instruments.request(operationLabel(operation, identified), CODE.test(code) ? code : 'OTHER', seconds);
    },
    observeHttp(status) {
      // A status is a 3-digit number: at most 500 series whatever callers send.
      instruments.http(Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other');
    },
    onCall(e) {
      instruments.call(e.method, routes.label(e.route), String(e.status), e.durationMs / 1000);
    },
    onJob(e) {
      instruments.job(routes.label(e.route), e.outcome, e.waitMs / 1000, e.polls);
    },
    onRedisRejected(reason) {
      redisRejected.inc({ reason });
    },
  };
}
