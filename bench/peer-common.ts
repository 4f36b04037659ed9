import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

/**
 * What the floor and the two peers share: the ZStack shapes they read, the mapping to the gateway's
 * GraphQL shapes (the same work the gateway does per ticket), the poll schedule and the schema subset.
 * The upstream does not import this file: it is the other side of the wire.
 */

export interface ApiTicketRequest {
  requestName?: string;
  apiName?: string;
  executeTimes?: number;
  apiBody?: unknown;
}

export interface ApiTicket {
  uuid: string;
  name?: string;
  description?: string;
  status?: string;
  request?: ApiTicketRequest[];
  accountSystemType?: string;
  accountSystemContext?: Record<string, unknown>;
  ticketTypeUuid?: string;
  currentFlowUuid?: string;
  flowCollectionUuid?: string;
  createDate?: string;
  lastOpDate?: string;
}

export interface ApiTicketStatusHistory {
  uuid: string;
  ticketUuid?: string;
  fromStatus?: string;
  toStatus?: string;
  comment?: string;
  sequence?: number;
  createDate?: string;
}

export interface Ticket {
  uuid: string;
  name: string;
  description: string | null;
  status: string | null;
  request: Array<{
    requestName: string | null;
    apiName: string | null;
    executeTimes: number | null;
    apiBody: unknown;
  }>;
  accountSystemType: string | null;
  accountSystemContext: { projectUuid: string | null; virtualIDUuid: string | null; json: unknown } | null;
  ticketTypeUuid: string | null;
  currentFlowUuid: string | null;
  flowCollectionUuid: string | null;
  createDate: string | null;
  lastOpDate: string | null;
}

export interface TicketStatusHistory {
  uuid: string;
  ticketUuid: string;
  fromStatus: string | null;
  toStatus: string | null;
  comment: string | null;
  sequence: number | null;
  createDate: string | null;
}

const TICKET_STATUS: Record<string, string> = {
  Pending: 'PENDING',
  Cancelled: 'CANCELLED',
  IntermediateApproved: 'INTERMEDIATE_APPROVED',
  FinalApproved: 'FINAL_APPROVED',
  Rejected: 'REJECTED',
};

/** GraphQL TicketStatusEvent → ZStack's wire value. */
export const STATUS_EVENTS: Record<string, string> = {
  OPEN: 'open',
  APPROVE: 'approve',
  CANCEL: 'cancel',
  REJECT: 'reject',
  REOPEN: 'reopen',
};

const MONTH_INDEX: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// Java 8 (`Jun 7, 2017 9:20:28 PM`) and JDK 9+ (extra comma, maybe a narrow no-break space).
const JAVA_DATE = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})[\s\u202f]([AP]M)$/;

/** ZStack's zone-less Java date → ISO instant; the bench upstream runs in UTC, as it reports. */
export function javaDateToIso(value: string | undefined): string | null {
  if (value === undefined) return null;
  const m = JAVA_DATE.exec(value);
  if (!m) return null;
  const month = MONTH_INDEX[m[1] ?? ''];
  if (month === undefined) return null;
  const hour12 = Number(m[4]) % 12;
  const hour = m[7] === 'PM' ? hour12 + 12 : hour12;
  return new Date(
    Date.UTC(Number(m[3]), month, Number(m[2]), hour, Number(m[5]), Number(m[6])),
  ).toISOString();
}

function ticketStatus(value: string | undefined): string | null {
  return value === undefined ? null : (TICKET_STATUS[value] ?? null);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Every Ticket field except history, in the schema's field order, nulls written out. */
export function mapTicket(api: ApiTicket): Ticket {
  const context = api.accountSystemContext;
  return {
    uuid: api.uuid,
    name: api.name ?? '',
    description: api.description ?? null,
    status: ticketStatus(api.status),
    request: (api.request ?? []).map((r) => ({
      requestName: r.requestName ?? null,
      apiName: r.apiName ?? null,
      // Gson sends `1.0`; GraphQL Int wants an integer.
      executeTimes:
        typeof r.executeTimes === 'number' && Number.isInteger(r.executeTimes) ? r.executeTimes : null,
      apiBody: r.apiBody ?? null,
    })),
    accountSystemType: api.accountSystemType ?? null,
    accountSystemContext: context
      ? { projectUuid: str(context.projectUuid), virtualIDUuid: str(context.virtualIDUuid), json: context }
      : null,
    ticketTypeUuid: api.ticketTypeUuid ?? null,
    currentFlowUuid: api.currentFlowUuid ?? null,
    flowCollectionUuid: api.flowCollectionUuid ?? null,
    createDate: javaDateToIso(api.createDate),
    lastOpDate: javaDateToIso(api.lastOpDate),
  };
}

export function mapHistory(api: ApiTicketStatusHistory): TicketStatusHistory {
  return {
    uuid: api.uuid,
    ticketUuid: api.ticketUuid ?? '',
    fromStatus: ticketStatus(api.fromStatus),
    toStatus: ticketStatus(api.toStatus),
    comment: api.comment ?? null,
    sequence: api.sequence ?? null,
    createDate: javaDateToIso(api.createDate),
  };
}

/** Histories grouped per ticket, in `keys` order, each in sequence order (what the gateway promises). */
export function groupHistories(
  keys: readonly string[],
  histories: readonly ApiTicketStatusHistory[],
): TicketStatusHistory[][] {
  const byTicket = new Map<string, TicketStatusHistory[]>();
  for (const key of keys) byTicket.set(key, []);
  for (const h of histories) byTicket.get(h.ticketUuid ?? '')?.push(mapHistory(h));
  return keys.map((key) => {
    const rows = byTicket.get(key) ?? [];
    return rows.sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0));
  });
}

/** Tickets in `keys` order, null where ZStack returned none. */
export function orderTickets(keys: readonly string[], tickets: readonly ApiTicket[]): Array<Ticket | null> {
  const byUuid = new Map(tickets.map((t) => [t.uuid, t]));
  return keys.map((key) => {
    const t = byUuid.get(key);
    return t ? mapTicket(t) : null;
  });
}

/** Poll at once (the job may be done), then every few milliseconds, slowing down after a second. */
export function pollDelayMs(attempt: number): number {
  if (attempt === 0) return 0;
  if (attempt <= 100) return 10;
  return 200;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `OAuth <uuid>` or `Bearer <uuid>` → the session uuid, as the gateway accepts them. */
export function sessionFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:OAuth|Bearer)\s+([0-9a-fA-F]{32})$/.exec(header.trim());
  return m?.[1]?.toLowerCase();
}

/** The schema subset every peer implements, mirroring the gateway's types. */
export const PEER_TYPE_DEFS = /* GraphQL */ `
  scalar DateTime
  scalar JSON

  enum TicketStatus { PENDING CANCELLED INTERMEDIATE_APPROVED FINAL_APPROVED REJECTED }
  enum TicketStatusEvent { OPEN APPROVE CANCEL REJECT REOPEN }

  input ChangeTicketStatusInput {
    uuid: ID!
    statusEvent: TicketStatusEvent!
    comment: String
    systemTags: [String!]
    userTags: [String!]
    clientMutationId: String
    idempotencyKey: String
  }

  type ChangeTicketStatusPayload { ticket: Ticket!  clientMutationId: String }

  type TicketRequest { requestName: String  apiName: String  executeTimes: Int  apiBody: JSON }
  type AccountSystemContext { projectUuid: String  virtualIDUuid: String  json: JSON! }

  type TicketStatusHistory {
    uuid: ID!
    ticketUuid: ID!
    fromStatus: TicketStatus
    toStatus: TicketStatus
    comment: String
    sequence: Int
    createDate: DateTime
  }

  type Ticket {
    uuid: ID!
    name: String!
    description: String
    status: TicketStatus
    request: [TicketRequest!]!
    accountSystemType: String
    accountSystemContext: AccountSystemContext
    ticketTypeUuid: String
    currentFlowUuid: String
    flowCollectionUuid: String
    createDate: DateTime
    lastOpDate: DateTime
    history: [TicketStatusHistory!]!
  }

  type TicketConnection { nodes: [Ticket!]! }

  type Query {
    tickets(first: Int = 50, after: String): TicketConnection!
    ticket(uuid: ID!): Ticket
  }

  type Mutation {
    changeTicketStatus(input: ChangeTicketStatusInput!): ChangeTicketStatusPayload!
  }
`;

export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** What a peer answers one POST /graphql with: an HTTP status and a JSON payload. */
export interface Answer {
  status: number;
  payload: unknown;
}

function reply(res: ServerResponse, status: number, payload: unknown) {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/graphql-response+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Serves POST /graphql on PORT/HOST (keep-alive as the bench's clients use it) until SIGTERM or
 * SIGINT: each body, parsed as JSON (400 when it is not), goes to `answer`, its answer back as
 * JSON; anything else is a 404.
 */
export function serveBench(
  name: string,
  defaultPort: number,
  answer: (req: IncomingMessage, body: unknown) => Promise<Answer>,
  zstack: UndiciZStack,
): void {
  const handle: RequestListener = (req, res) => {
    if (req.method !== 'POST' || req.url !== '/graphql') {
      req.resume();
      reply(res, 404, { errors: [{ message: 'not found' }] });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reply(res, 400, { errors: [{ message: 'body is not JSON' }] });
        return;
      }
      answer(req, body).then(
        ({ status, payload }) => reply(res, status, payload),
        (err: unknown) => reply(res, 500, { errors: [{ message: (err as Error).message }] }),
      );
    });
  };
  const host = process.env.HOST ?? '127.0.0.1';
  const port = Number(process.env.PORT ?? defaultPort);
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.listen(port, host, () => console.log(`${name} listening on http://${host}:${port}/graphql`));
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void zstack.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The ZStack of ZSTACK_URL for a peer process; exits when it is unset. */
export function zstackFromEnv(): UndiciZStack {
  const zstackUrl = process.env.ZSTACK_URL;
  if (!zstackUrl) {
    console.error('ZSTACK_URL is required (e.g. http://127.0.0.1:8080/zstack)');
    process.exit(1);
  }
  return new UndiciZStack(zstackUrl);
}

/** The undici client the floor and Mercurius use: one Pool, every body read, 202 then poll. */
export class UndiciZStack {
  readonly pool: Pool;
  readonly base: string;

  constructor(zstackUrl: string) {
    const url = new URL(zstackUrl);
    this.pool = new Pool(url.origin, { connections: 128, pipelining: 1 });
    this.base = url.pathname.replace(/\/$/, '');
  }

  private async call(method: 'GET' | 'PUT', path: string, session: string, body?: string) {
    const res = await this.pool.request({
      method,
      path,
      headers:
        body === undefined
          ? { authorization: `OAuth ${session}` }
          : { authorization: `OAuth ${session}`, 'content-type': 'application/json;charset=UTF-8' },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 && res.statusCode !== 202) {
      throw new UpstreamError(`ZStack answered HTTP ${res.statusCode}`, res.statusCode);
    }
    return { status: res.statusCode, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  /** Never retried: a write is sent once, then its job is polled. */
  async changeTicketStatus(
    session: string,
    uuid: string,
    statusEvent: string,
    comment?: string,
  ): Promise<ApiTicket> {
    const body = JSON.stringify({ changeTicketStatus: { statusEvent, comment } });
    const first = await this.call('PUT', `${this.base}/v1/tickets/${uuid}/actions`, session, body);
    if (first.status === 200) return first.json.inventory as ApiTicket;
    // Like ZStack's SDKs, keep only the location's path: its host may not be reachable from here.
    const jobPath = new URL(String(first.json.location)).pathname;
    for (let attempt = 0; ; attempt++) {
      const delay = pollDelayMs(attempt);
      if (delay > 0) await sleep(delay);
      const poll = await this.call('GET', jobPath, session);
      if (poll.status === 200) return poll.json.inventory as ApiTicket;
    }
  }

  async queryTickets(session: string, params: URLSearchParams): Promise<ApiTicket[]> {
    const res = await this.call('GET', `${this.base}/v1/tickets?${params}`, session);
    return (res.json.inventories ?? []) as ApiTicket[];
  }

  async queryHistories(session: string, ticketUuids: readonly string[]): Promise<ApiTicketStatusHistory[]> {
    const params = new URLSearchParams({ q: `ticketUuid?=${ticketUuids.join(',')}` });
    const res = await this.call('GET', `${this.base}/v1/tickets/histories?${params}`, session);
    return (res.json.inventories ?? []) as ApiTicketStatusHistory[];
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
