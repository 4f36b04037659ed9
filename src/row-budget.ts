import { GraphQLError } from 'graphql';
import { ErrorCode } from './errors.js';
import type { ZStackClient } from './zstack/client.js';

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
    // Delegates one by one: a client may keep its methods on a prototype, which a spread drops.
    return {
      callSync: (req, opts) => client.callSync(req, opts),
      callAsync: (req, opts) => client.callAsync(req, opts),
      getJobState: (jobUuid, opts) => client.getJobState(jobUuid, opts),
      sentJob: (jobUuid, session) => client.sentJob(jobUuid, session),
      notifyJobDone: (jobUuid) => client.notifyJobDone(jobUuid),
      close: () => client.close(),
      get: async <T>(req: Parameters<ZStackClient['get']>[0], opts?: Parameters<ZStackClient['get']>[1]) => {
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
      },
    };
  }
}
