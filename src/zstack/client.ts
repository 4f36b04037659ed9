/**
 * The upstream client: composes the transport (transport.ts), the one mapping of answers to typed
 * errors (responses.ts) and async-job waiting (jobs.ts). Knows HTTP and ZStack, never GraphQL.
 */

import type { CallOptions, Exchange, UpstreamCallEvent, UpstreamTracer } from './call-types.js';
import { ZStackRequestTooLargeError } from './errors.js';
import { type JobEvent, JobWaits } from './jobs.js';
import { jsonTextExceeds } from './request-size.js';
import {
  afterWriteSent,
  isDuplicateJobUuid,
  type JobState,
  jobUuidFromAccepted,
  parseJson,
  responseError,
  unavailableError,
} from './responses.js';
import { routeOf, Transport } from './transport.js';
import { TransportFailure } from './transport-failure.js';

export type {
  AnswerAllowance,
  CallOptions,
  TracedCall,
  TracedJob,
  UpstreamCallEvent,
  UpstreamTracer,
} from './call-types.js';
export type { JobEvent } from './jobs.js';
export type { JobState } from './responses.js';

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
  /** A webhook callback wakes one job's wait at most once per this many ms (default 250). */
  webhookWakeIntervalMs?: number;
  /** AbortController signals per attempt (the bench's A/B row; TransportConfig.abortControllers). */
  abortControllers?: boolean;
  /** Retries of GETs on connection failure (default 2, backoff 50/150 ms). */
  getRetries?: number;
  /**
   * Largest body sent in one call (JSON text, bytes); a larger one is ZStackRequestTooLargeError and
   * nothing is sent. Default: no limit.
   */
  maxRequestBytes?: number;
  /**
   * Largest answer read from one call; a larger one is discarded unread (its connection closed) and
   * is ZStackResponseTooLargeError. Default: no limit.
   */
  maxResponseBytes?: number;
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
  /**
   * Whether this client submitted `jobUuid` under `session` (remembered for ZStack's result
   * retention, about 3 hours, for the most recent jobs): ZStack itself tells no job's owner.
   */
  sentJob(jobUuid: string, session: string): boolean;
  /** Hint that a job just ended (webhook): poll it now if we are waiting for it. Never trusted as the result. */
  notifyJobDone(jobUuid: string): void;
  /**
   * Shutdown: from `time` (Date.now() based) on, every call and job wait, running or to come, ends
   * as at its caller's deadline: a job wait as pending (the write was sent once), a call in flight
   * as unavailable (a write with mayHaveApplied), so every operation still running can answer.
   */
  endWorkAt?(time: number): void;
  close(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** How long ZStack keeps a finished job's result, and so how long an owner is worth remembering. */
const JOB_RETENTION_MS = 3 * 3600_000;
/** Most job owners remembered (the oldest go first): a bound in entries, each about 150 bytes. */
const MAX_JOB_OWNERS = 20_000;

interface JobOwner {
  session: string;
  at: number;
}

/**
 * Which session submitted which job. Held in this process's memory only (where every request's
 * session already passes), never logged or sent anywhere. Exported for its tests only.
 */
export class JobOwners {
  private readonly owners = new Map<string, JobOwner>();

  /** `max`: most owners held (MAX_JOB_OWNERS; smaller in tests). */
  constructor(private readonly max = MAX_JOB_OWNERS) {}

  remember(jobUuid: string, session: string | undefined): void {
    if (session === undefined) return;
    const owners = this.owners;
    // The entry that leaves (this job's earlier one, or the oldest once full) is reused for the new one.
    let entry = owners.get(jobUuid);
    if (entry !== undefined) owners.delete(jobUuid);
    else if (owners.size >= this.max) {
      const oldest = owners.keys().next();
      if (oldest.done !== true) {
        entry = owners.get(oldest.value);
        owners.delete(oldest.value);
      }
    }
    const at = Date.now();
    if (entry === undefined) entry = { session, at };
    else {
      entry.session = session;
      entry.at = at;
    }
    owners.set(jobUuid, entry);
  }

  sentBy(jobUuid: string, session: string): boolean {
    const owner = this.owners.get(jobUuid);
    if (owner === undefined) return false;
    if (Date.now() - owner.at > JOB_RETENTION_MS) {
      this.owners.delete(jobUuid);
      return false;
    }
    return owner.session === session;
  }
}

class UndiciZStackClient implements ZStackClient {
  private readonly transport: Transport;
  private readonly jobs: JobWaits;
  private readonly webhookUrl: string | undefined;
  private readonly owners = new JobOwners();
  private readonly maxRequestBytes: number;

  constructor(config: ZStackClientConfig) {
    this.maxRequestBytes = config.maxRequestBytes ?? Number.POSITIVE_INFINITY;
    this.transport = new Transport({
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      connections: config.connections,
      getRetries: config.getRetries,
      maxResponseBytes: config.maxResponseBytes,
      onCall: config.onCall,
      tracer: config.tracer,
      abortControllers: config.abortControllers,
    });
    this.webhookUrl = config.webhookUrl;
    this.jobs = new JobWaits({
      transport: this.transport,
      jobTimeoutMs: config.jobTimeoutMs,
      webhook: config.webhookUrl !== undefined,
      wakeIntervalMs: config.webhookWakeIntervalMs,
      onJob: config.onJob,
      tracer: config.tracer,
    });
  }

  async get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    let ex: Exchange;
    try {
      ex = await this.transport.get(this.transport.url(req.path, req.query), routeOf(req.path), opts);
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
    const session = opts?.session;
    let body: string | undefined;
    if (req.body !== undefined) {
      const max = this.maxRequestBytes;
      // Counted before serializing, so a value that repeats a large part is refused without being built.
      if (max !== Number.POSITIVE_INFINITY && jsonTextExceeds(req.body, max))
        throw new ZStackRequestTooLargeError(max);
      body = JSON.stringify(req.body);
      // UTF-8 takes at most 3 bytes per UTF-16 unit: the byte count is needed only above max / 3 units.
      if (body.length > max || (body.length * 3 > max && Buffer.byteLength(body) > max))
        throw new ZStackRequestTooLargeError(max);
    }
    const hook = async ? this.webhookUrl : undefined;
    // undici's flat header list (see HeaderList), made at its final size (a push would grow it).
    const headers = new Array<string>(
      (session === undefined ? 0 : 2) +
        (jobUuid === undefined ? 0 : 2) +
        (hook === undefined ? 0 : 2) +
        (body === undefined ? 0 : 2),
    );
    let at = 0;
    if (session !== undefined) {
      headers[at++] = 'authorization';
      headers[at++] = this.transport.authorization(session);
    }
    if (jobUuid !== undefined) {
      headers[at++] = 'x-job-uuid';
      headers[at++] = jobUuid;
    }
    if (hook !== undefined) {
      headers[at++] = 'x-web-hook';
      headers[at++] = hook;
    }
    if (body !== undefined) {
      headers[at++] = 'content-type';
      headers[at++] = JSON_CONTENT_TYPE;
    }
    // The route template (no uuids) of the call event, the span and the job wait: made once.
    const route = routeOf(req.path);
    let ex: Exchange;
    try {
      const target = this.transport.url(req.path, req.query);
      ex = await this.transport.call(req.method, target, route, headers, body, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? unavailableError(err, true, jobUuid) : err;
    }
    let accepted = false;
    try {
      if (ex.status === 200) return parseJson(ex, jobUuid) as T;
      if (ex.status === 202) {
        accepted = true;
        const id = jobUuidFromAccepted(ex, jobUuid);
        this.owners.remember(id, opts?.session);
        return (await this.jobs.wait(id, route, opts, true)) as T;
      }
      // Our own X-Job-UUID already exists: this is a replay; the original job's outcome is the answer.
      if (async && jobUuid !== undefined && isDuplicateJobUuid(ex)) {
        accepted = true;
        this.owners.remember(jobUuid, opts?.session);
        return (await this.jobs.wait(jobUuid, route, opts, false)) as T;
      }
      throw responseError(ex, jobUuid);
    } catch (err) {
      throw async ? afterWriteSent(err, accepted) : err;
    }
  }

  async getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    try {
      return await this.jobs.poll(jobUuid, opts);
    } catch (err) {
      throw err instanceof TransportFailure ? unavailableError(err, false, jobUuid) : err;
    }
  }

  sentJob(jobUuid: string, session: string): boolean {
    return this.owners.sentBy(jobUuid, session);
  }

  notifyJobDone(jobUuid: string): void {
    this.jobs.notifyJobDone(jobUuid);
  }

  endWorkAt(time: number): void {
    this.transport.endCallsAt(time);
    this.jobs.endWaitsAt(time);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** The upstream client: one undici Pool for ZStack's origin; writes are sent at most once. */
export function createZStackClient(config: ZStackClientConfig): ZStackClient {
  return new UndiciZStackClient(config);
}
