import { ApiError, errorBody, gsonStringify } from './render.js';

export type JobState = 'running' | 'succeeded' | 'failed';

export interface Job {
  uuid: string;
  state: JobState;
  /** The finished body as sent (success result or `{"error":…}`), Gson-escaped the way job bodies are. */
  body?: string;
  /** What X-JSON-Schema adds to a success body. */
  schema?: Record<string, string>;
  finishedAt?: number;
  webhook?: string;
  /** The request carried X-JSON-Schema: ZStack restores its headers for the webhook call. */
  jsonSchema?: boolean;
}

/**
 * What a finished job sends, to a poll or to its webhook: the same body either way, `jsonSchema`
 * (X-JSON-Schema on the poll, or on the original request for the webhook) adding `schema` to a success.
 */
export function finishedBody(job: Job, jsonSchema: boolean): string {
  const body = job.body ?? '{}';
  if (job.state !== 'succeeded' || !jsonSchema) return body;
  const schema = gsonStringify(job.schema ?? {}, true);
  return body === '{}' ? `{"schema":${schema}}` : `{"schema":${schema},${body.slice(1)}`;
}

/** What a job's work yields: the success body (wire shape) and its `schema` map. */
export interface JobOutcome {
  body: Record<string, unknown>;
  schema?: Record<string, string>;
}

export interface JobStoreOptions {
  latencyMs: number;
  retentionMs: number;
  webhookRetryIntervalMs: number;
}

const WEBHOOK_ATTEMPTS = 15;

/** Async API jobs (AsyncRestVO): running → succeeded/failed → expired after the retention time. */
export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private abort = new AbortController();
  latencyMs: number;

  constructor(private readonly opts: JobStoreOptions) {
    this.latencyMs = opts.latencyMs;
  }

  private live(uuid: string): Job | undefined {
    const job = this.jobs.get(uuid);
    if (job?.finishedAt !== undefined && job.finishedAt + this.opts.retentionMs <= Date.now()) {
      this.jobs.delete(uuid);
      return undefined;
    }
    return job;
  }

  has(uuid: string): boolean {
    return this.live(uuid) !== undefined;
  }

  get(uuid: string): Job | undefined {
    return this.live(uuid);
  }

  /**
   * Records the job, then runs `work` after the configured latency; with latency 0 it runs now, so
   * the job is already finished when the caller writes its 202.
   */
  create(
    uuid: string,
    work: () => JobOutcome,
    request: { webhook?: string; jsonSchema?: boolean } = {},
  ): Job {
    this.sweep();
    const job: Job = { uuid, state: 'running', webhook: request.webhook, jsonSchema: request.jsonSchema };
    this.jobs.set(uuid, job);
    if (this.latencyMs <= 0) this.finish(job, work);
    else this.later(this.latencyMs, () => this.finish(job, work));
    return job;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private finish(job: Job, work: () => JobOutcome): void {
    try {
      const outcome = work();
      job.state = 'succeeded';
      job.body = gsonStringify(outcome.body, true);
      job.schema = outcome.schema;
    } catch (e) {
      job.state = 'failed';
      const err =
        e instanceof ApiError ? e : new ApiError('SYS.1000', e instanceof Error ? e.message : String(e));
      job.body = gsonStringify(errorBody(err.errorCode), true);
    }
    job.finishedAt = Date.now();
    const hook = job.webhook;
    // Deliver after the current tick so a webhook never overtakes the 202 it belongs to.
    if (hook) this.later(0, () => void this.deliver(job, hook, 1));
  }

  private async deliver(job: Job, url: string, attempt: number): Promise<void> {
    const signal = this.abort.signal;
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'X-Job-UUID': job.uuid,
          'X-Job-Success': String(job.state === 'succeeded'),
        },
        // The callback carries the original request's headers, so X-JSON-Schema shapes it like a poll.
        body: finishedBody(job, job.jsonSchema === true),
        signal,
      });
      await res.arrayBuffer();
      ok = res.status >= 200 && res.status < 300;
    } catch {
      ok = false;
    }
    if (!ok && !signal.aborted && attempt < WEBHOOK_ATTEMPTS) {
      this.later(this.opts.webhookRetryIntervalMs, () => void this.deliver(job, url, attempt + 1));
    }
  }

  expire(uuid: string): void {
    this.jobs.delete(uuid);
  }

  private sweep(): void {
    for (const uuid of [...this.jobs.keys()]) this.live(uuid);
  }

  /** Stops pending work and webhook retries. */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
    this.abort = new AbortController();
    this.jobs.clear();
  }
}
