import { GraphQLError } from 'graphql';
import { ErrorCode } from './errors.js';
import type { CallOptions, CallRequest, GetRequest, JobState, ZStackClient } from './zstack/client.js';

/** The `limit` query parameter of a GET (ZStack's page size), 0 when absent. */
function limitOf(query: URLSearchParams | string | undefined): number {
  if (query === undefined) return 0;
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const limit = Number(params.get('limit') ?? 0);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
}

/**
 * The rows one operation may read from ZStack in total (MAX_ROWS_PER_OPERATION): every list GET
 * (a connection page, a batched load, a history page) counts the rows it returned, and a GET whose
 * `limit` could take the total past the ceiling is refused with ROW_LIMIT_EXCEEDED before it is sent.
 */
export class RowBudget {
  private used = 0;
  constructor(readonly max: number) {}

  /** Rows read so far. */
  get rows(): number {
    return this.used;
  }

  /** A new operation (a subscription's next event) starts from zero. */
  reset(): void {
    this.used = 0;
  }

  /** `client` with every GET checked against, and counted in, this budget. */
  wrap(client: ZStackClient): ZStackClient {
    return new BudgetedClient(client, this);
  }

  /** One GET under this budget: refused before it is sent when its page could pass the ceiling. */
  async get<T>(client: ZStackClient, req: GetRequest, opts: CallOptions | undefined): Promise<T> {
    const asked = limitOf(req.query);
    if (this.used + asked > this.max || (asked === 0 && this.used >= this.max)) {
      throw new GraphQLError(
        `Row limit of ${this.max} per operation exceeded: ${this.used} rows read or in flight, this page asks for ${asked} more.`,
        { extensions: { code: ErrorCode.ROW_LIMIT_EXCEEDED } },
      );
    }
    // Reserved while in flight, so concurrent pages (aliases) cannot all pass the check at once.
    this.used += asked;
    let rows = asked;
    try {
      const reply = await client.get<T>(req, opts);
      const inventories = (reply as { inventories?: unknown } | null)?.inventories;
      rows = Array.isArray(inventories) ? inventories.length : 0;
      return reply;
    } catch (err) {
      rows = 0;
      throw err;
    } finally {
      this.used += rows - asked;
    }
  }
}

/** A client whose GETs a budget counts; its methods live on the prototype, not in closures per request. */
class BudgetedClient implements ZStackClient {
  constructor(
    private readonly client: ZStackClient,
    private readonly budget: RowBudget,
  ) {}
  get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    return this.budget.get<T>(this.client, req, opts);
  }
  callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.client.callSync<T>(req, opts);
  }
  callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    return this.client.callAsync<T>(req, opts);
  }
  getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    return this.client.getJobState(jobUuid, opts);
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
