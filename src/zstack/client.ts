/**
 * The upstream client: composes the transport (transport.ts), the one mapping of answers to typed
 * errors (responses.ts) and async-job waiting (jobs.ts). Knows HTTP and ZStack, never GraphQL.
 */
import { type JobEvent, JobWaits } from './jobs.js';
import {
  isDuplicateJobUuid,
  type JobState,
  jobUuidFromAccepted,
  parseJson,
  responseError,
  unavailableError,
} from './responses.js';
import {
  type CallOptions,
  type Exchange,
  routeOf,
  Transport,
  TransportFailure,
  type UpstreamCallEvent,
  type UpstreamTracer,
} from './transport.js';

export type { JobEvent } from './jobs.js';
export type { JobState } from './responses.js';
export type { CallOptions, TracedCall, TracedJob, UpstreamCallEvent, UpstreamTracer } from './transport.js';

export interface ZStackClientConfig {
  /** Base with context path, e.g. http://zstack:8080/zstack (no trailing slash). */
  baseUrl: string;
  /** One upstream HTTP call, headers and body included. */
  timeoutMs: number;
  /** How long an async call waits for its job. */
  jobTimeoutMs: number;
  /** undici Pool size (default 128). */
  connections?: number;
  /**
   * ZStack's webhook mode: sent as `X-Web-Hook` on every async call, so ZStack posts there when
   * the job ends (see notifyJobDone). Undefined = polling only.
   */
  webhookUrl?: string;
  /** Retries of GETs on connection failure (default 2, backoff 50/150 ms). */
  getRetries?: number;
  onCall?: (e: UpstreamCallEvent) => void;
  onJob?: (e: JobEvent) => void;
  /** Spans for calls and job waits, and the `traceparent` each call sends (OpenTelemetry, from outside). */
  tracer?: UpstreamTracer;
}

export interface GetRequest {
  /** Below /v1, e.g. '/tickets'. */
  path: string;
  query?: URLSearchParams | string;
}

export interface CallRequest {
  method: 'POST' | 'PUT' | 'DELETE';
  /** Below /v1, e.g. '/tickets/<uuid>/actions'. */
  path: string;
  query?: URLSearchParams | string;
  /** Sent as JSON. */
  body?: unknown;
}

export interface ZStackClient {
  /** A sync GET (queries, validate session, timezone): 200 JSON, or a typed error. Retried on connection failure only. */
  get<T>(req: GetRequest, opts?: CallOptions): Promise<T>;
  /** A sync non-GET (logins PUT, logout DELETE): 200 JSON, or a typed error. Sent once, never retried. */
  callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T>;
  /**
   * An async call (every write): sent once, never retried; 200 → result; 202 → its job's result
   * (polled until done, failed, expired, the job timeout or the deadline); a duplicate X-Job-UUID
   * → the original job's result. A failure that may have reached ZStack says `mayHaveApplied`.
   */
  callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T>;
  /** One look at a job (for the apiJob query); no waiting. */
  getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState>;
  /** Hint that a job just ended (webhook): poll it now if we are waiting for it. Never trusted as the result. */
  notifyJobDone(jobUuid: string): void;
  close(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

class UndiciZStackClient implements ZStackClient {
  private readonly transport: Transport;
  private readonly jobs: JobWaits;
  private readonly webhookUrl: string | undefined;

  constructor(config: ZStackClientConfig) {
    this.transport = new Transport({
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      connections: config.connections,
      getRetries: config.getRetries,
      onCall: config.onCall,
      tracer: config.tracer,
    });
    this.webhookUrl = config.webhookUrl;
    this.jobs = new JobWaits({
      transport: this.transport,
      jobTimeoutMs: config.jobTimeoutMs,
      webhook: config.webhookUrl !== undefined,
      onJob: config.onJob,
      tracer: config.tracer,
    });
  }

  async get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    let ex: Exchange;
    try {
      ex = await this.transport.get(this.transport.url(req.path, req.query), req.path, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? unavailableError(err, false, undefined) : err;
    }
    if (ex.status === 200) return parseJson(ex, undefined) as T;
    throw responseError(ex, undefined);
  }

  callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.send<T>(req, opts, false);
  }

  callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.send<T>(req, opts, true);
  }

  private async send<T>(req: CallRequest, opts: CallOptions | undefined, async: boolean): Promise<T> {
    const jobUuid = opts?.jobUuid;
    const headers: Record<string, string> = {};
    if (opts?.session !== undefined) headers.authorization = `OAuth ${opts.session}`;
    if (jobUuid !== undefined) headers['x-job-uuid'] = jobUuid;
    if (async && this.webhookUrl !== undefined) headers['x-web-hook'] = this.webhookUrl;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = JSON_CONTENT_TYPE;
    }
    let ex: Exchange;
    try {
      const target = this.transport.url(req.path, req.query);
      ex = await this.transport.call(req.method, target, req.path, headers, body, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? unavailableError(err, true, jobUuid) : err;
    }
    if (ex.status === 200) return parseJson(ex, jobUuid) as T;
    if (ex.status === 202) {
      const id = jobUuidFromAccepted(ex, jobUuid);
      return (await this.jobs.wait(id, routeOf(req.path), opts, true)) as T;
    }
    // Our own X-Job-UUID already exists: this is a replay; the original job's outcome is the answer.
    if (async && jobUuid !== undefined && isDuplicateJobUuid(ex)) {
      return (await this.jobs.wait(jobUuid, routeOf(req.path), opts, false)) as T;
    }
    throw responseError(ex, jobUuid);
  }

  async getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    try {
      return await this.jobs.poll(jobUuid, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? unavailableError(err, false, jobUuid) : err;
    }
  }

  notifyJobDone(jobUuid: string): void {
    this.jobs.notifyJobDone(jobUuid);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** The upstream client: one undici Pool for ZStack's origin; writes are sent at most once. */
export function createZStackClient(config: ZStackClientConfig): ZStackClient {
  return new UndiciZStackClient(config);
}
