import type {
  AnswerAllowance,
  CallOptions,
  CallRequest,
  GetRequest,
  JobState,
  ZStackClient,
} from './zstack/client.js';

/**
 * The bytes one operation may read from ZStack in total (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION):
 * every answer of every call of the operation (pages, batched loads, name lookups, job polls) takes
 * its size from it before it is read, so aliases that each stay under ZSTACK_MAX_RESPONSE_BYTES cannot
 * together fill the heap. An answer that would pass it is refused unread (UPSTREAM_RESPONSE_TOO_LARGE,
 * `scope: "operation"`): that field fails, the rest of the data arrives.
 */
export class AnswerBudget implements AnswerAllowance {
  private used = 0;
  constructor(readonly limitBytes: number) {}

  /** Bytes read so far. */
  get bytes(): number {
    return this.used;
  }

  take(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  /** A new operation (a subscription's next event) starts from zero. */
  reset(): void {
    this.used = 0;
  }

  /** `client` with every call's answer counted in this budget. */
  wrap(client: ZStackClient): ZStackClient {
    return this.limitBytes === Number.POSITIVE_INFINITY ? client : new CountedClient(client, this);
  }
}

/** A client whose answers a budget counts; its methods live on the prototype, not in closures per request. */
class CountedClient implements ZStackClient {
  constructor(
    private readonly client: ZStackClient,
    private readonly budget: AnswerBudget,
  ) {}
  private opts(opts: CallOptions | undefined): CallOptions {
    return { ...opts, answerBytes: this.budget };
  }
  get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    return this.client.get<T>(req, this.opts(opts));
  }
  callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.client.callSync<T>(req, this.opts(opts));
  }
  callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.client.callAsync<T>(req, this.opts(opts));
  }
  getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    return this.client.getJobState(jobUuid, this.opts(opts));
  }
  sentJob(jobUuid: string, session: string): boolean {
    return this.client.sentJob(jobUuid, session);
  }
  notifyJobDone(jobUuid: string): void {
    this.client.notifyJobDone(jobUuid);
  }
  endWorkAt(time: number): void {
    this.client.endWorkAt?.(time);
  }
  close(): Promise<void> {
    return this.client.close();
  }
}
