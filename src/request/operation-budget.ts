import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';
import type {
  AnswerAllowance,
  CallOptions,
  CallRequest,
  GetRequest,
  JobState,
  ZStackClient,
} from '../zstack/client.js';

/** The `limit` query parameter of a GET (ZStack's page size), 0 when absent. */
function limitOf(query: URLSearchParams | string | undefined): number {
  if (query === undefined) return 0;
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const limit = Number(params.get('limit') ?? 0);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : 0;
}

/** The ceilings of one operation (each subscription event is one); unset = unlimited. */
export interface OperationLimits {
  /** Rows read from ZStack in total (MAX_ROWS_PER_OPERATION). */
  maxRows?: number;
  /** Upstream calls sent, names and writes included, job polls not (MAX_UPSTREAM_CALLS_PER_OPERATION). */
  maxCalls?: number;
  /** Distinct uuids named through GetResourceNames (MAX_NAMED_UUIDS_PER_OPERATION). */
  maxNamedUuids?: number;
  /** Answer bytes read from ZStack in total (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION). */
  maxResponseBytes?: number;
}

/**
 * What one operation may cost ZStack: rows read (MAX_ROWS_PER_OPERATION), upstream calls sent
 * (MAX_UPSTREAM_CALLS_PER_OPERATION), distinct uuids named (MAX_NAMED_UUIDS_PER_OPERATION) and
 * answer bytes read (ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION: every answer, job polls included, takes
 * its size before it is read, so aliases that each stay under ZSTACK_MAX_RESPONSE_BYTES cannot
 * together fill the heap; an answer that would pass it is refused unread).
 * Every call of the operation's client is checked before it is sent and refused with a code when it
 * would pass a ceiling; nothing is refused after it was sent (a write is never failed afterwards).
 * A call is one request the operation asks for: a GET's connection retries and a write's job polls
 * are the client's own and not counted.
 */
export class OperationBudget implements AnswerAllowance {
  private rowsUsed = 0;
  private callsUsed = 0;
  private namedUsed = 0;
  private bytesUsed = 0;
  readonly maxRows: number;
  readonly maxCalls: number;
  readonly maxNamedUuids: number;
  /** ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION, as the transport's AnswerAllowance reads it. */
  readonly limitBytes: number;
  constructor(limits: OperationLimits = {}) {
    this.maxRows = limits.maxRows ?? Number.POSITIVE_INFINITY;
    this.maxCalls = limits.maxCalls ?? Number.POSITIVE_INFINITY;
    this.maxNamedUuids = limits.maxNamedUuids ?? Number.POSITIVE_INFINITY;
    this.limitBytes = limits.maxResponseBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Answer bytes read so far. */
  get bytes(): number {
    return this.bytesUsed;
  }

  /** Counts `bytes` more read; false (nothing counted) when they would pass the operation's bound. */
  take(bytes: number): boolean {
    if (this.bytesUsed + bytes > this.limitBytes) return false;
    this.bytesUsed += bytes;
    return true;
  }

  /** Rows read so far. */
  get rows(): number {
    return this.rowsUsed;
  }

  /** Upstream calls sent so far. */
  get calls(): number {
    return this.callsUsed;
  }

  /** A new operation (a subscription's next event) starts from zero. */
  reset(): void {
    this.rowsUsed = 0;
    this.callsUsed = 0;
    this.namedUsed = 0;
    this.bytesUsed = 0;
  }

  /** `client` with every call checked against, and counted in, this budget. */
  wrap(client: ZStackClient): ZStackClient {
    return new BudgetedClient(client, this);
  }

  /**
   * Takes up to `wanted` distinct uuids from the naming budget: returns how many may be named (the
   * first ones asked for); the rest are not to be looked up.
   */
  takeNames(wanted: number): number {
    const granted = Math.max(0, Math.min(wanted, this.maxNamedUuids - this.namedUsed));
    this.namedUsed += granted;
    return granted;
  }

  /** Counts one call about to be sent, or refuses it (UPSTREAM_CALL_LIMIT_EXCEEDED) before it is. */
  spendCall(): void {
    if (this.callsUsed >= this.maxCalls) {
      throw new GraphQLError(
        `Upstream call limit of ${this.maxCalls} per operation reached: this call was not sent.`,
        { extensions: { code: ErrorCode.UPSTREAM_CALL_LIMIT_EXCEEDED, limit: this.maxCalls } },
      );
    }
    this.callsUsed++;
  }

  /** One GET under this budget: refused before it is sent when it is one call too many or its page could pass the row ceiling. */
  async get<T>(client: ZStackClient, req: GetRequest, opts: CallOptions | undefined): Promise<T> {
    const asked = limitOf(req.query);
    if (this.rowsUsed + asked > this.maxRows || (asked === 0 && this.rowsUsed >= this.maxRows)) {
      throw new GraphQLError(
        `Row limit of ${this.maxRows} per operation exceeded: ${this.rowsUsed} rows read or in flight, this page asks for ${asked} more.`,
        { extensions: { code: ErrorCode.ROW_LIMIT_EXCEEDED } },
      );
    }
    this.spendCall();
    // Reserved while in flight, so concurrent pages (aliases) cannot all pass the check at once.
    this.rowsUsed += asked;
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
      this.rowsUsed += rows - asked;
    }
  }
}

/** A client whose calls a budget counts; its methods live on the prototype, not in closures per request. */
class BudgetedClient implements ZStackClient {
  constructor(
    private readonly client: ZStackClient,
    private readonly budget: OperationBudget,
  ) {}
  get<T>(req: GetRequest, opts?: CallOptions): Promise<T> {
    return this.budget.get<T>(this.client, req, opts);
  }
  async callSync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    this.budget.spendCall();
    return this.client.callSync<T>(req, opts);
  }
  /** One call for the write; its job's polls are not counted, so a write sent is never failed by the budget. */
  async callAsync<T>(req: CallRequest, opts?: CallOptions): Promise<T> {
    this.budget.spendCall();
    return this.client.callAsync<T>(req, opts);
  }
  async getJobState(jobUuid: string, opts?: CallOptions): Promise<JobState> {
    this.budget.spendCall();
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
