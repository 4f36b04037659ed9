/** The simulator's public types; `index.ts` re-exports them. */

export interface SimulatorOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How long an async job stays running; 0 (default) finishes it before the 202 is written. */
  jobLatencyMs?: number;
  /** host[:port] put in a job `location`; default: the request's Host header. */
  advertisedHost?: string;
  /** IANA zone the Java-style dates are rendered in; default 'UTC'. */
  timeZone?: string;
  /** Sliding session lifetime; default 7200. */
  sessionTimeoutSec?: number;
  /** The sessions' clock in epoch ms (tests move it by hand); default Date.now. */
  sessionClock?: () => number;
  /** How long a finished job can still be polled; default 3 h. */
  jobRetentionMs?: number;
  /** Pause between webhook delivery attempts; default 2000. */
  webhookRetryIntervalMs?: number;
  /** Add a Content-Type header to responses (real ZStack sends none); default false. */
  contentType?: boolean;
  /** Load the demo data; default true. */
  seed?: boolean;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path without the query, e.g. /zstack/v1/tickets. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export type Fault =
  | { kind: 'errorCode'; code: string; description?: string; details?: string; async?: boolean }
  | { kind: 'http500'; text?: string }
  | { kind: 'reset'; after?: boolean }
  | { kind: 'malformed' }
  | { kind: 'truncated' }
  | { kind: 'slowBody'; delayMs: number }
  | { kind: 'latency'; ms: number };

export interface FaultRule {
  fault: Fault;
  /** Default 1; Infinity allowed. */
  times?: number;
  method?: string;
  /** Substring of the path without query, e.g. '/v1/tickets' or '/api-jobs/'. */
  path?: string;
}

export interface DemoData {
  admin: { accountName: string; password: string; uuid: string };
  /** IAM2 virtual IDs; approvers[0] approves flow 1, approvers[1] flow 2. */
  approvers: { name: string; password: string; uuid: string }[];
  /** IAM2 virtual IDs. */
  submitters: { name: string; password: string; uuid: string }[];
  /** For LogInByUser. */
  user?: { accountName: string; userName: string; password: string; uuid: string };
  projectUuid: string;
  flowCollectionUuid: string;
  ticketTypeUuids: string[];
  /** The original uuids (archive `ticketUuid`) of the seeded tickets that were deleted into the archives. */
  archivedTicketUuids: string[];
  /**
   * Named resources without a table of their own (GetResourceNames): the IAM2 project and the images,
   * offerings, networks and VMs the demo apiBodys name.
   */
  resources: { uuid: string; name?: string; type: string }[];
  /**
   * A ticket waiting for its final approval whose request (a VM bigger than any host) fails when
   * approved: the job fails with SYS.1006 whose `cause` is HOST_ALLOCATION.1000. Empty without seed.
   */
  failingTicketUuid: string;
}

/** Makes the API a final approval executes fail (as if ZStack refused it), matched in insertion order. */
export interface RequestFailureRule {
  /** The failing API's ErrorCode, which becomes the `cause` of the approval's SYS.1006. */
  code: string;
  description?: string;
  details?: string;
  /** Only requests for this API, e.g. org.zstack.header.vm.APICreateVmInstanceMsg. */
  apiName?: string;
  ticketUuid?: string;
  /** How many executions fail; default 1; Infinity allowed. */
  times?: number;
}

export interface SimulatorControls {
  /** Every request received, in order (admin endpoints excluded). */
  readonly requests: readonly RecordedRequest[];
  clearRequests(): void;
  count(filter?: { method?: string; path?: string }): number;
  /** Rules are matched in insertion order; the first match is consumed. */
  injectFault(rule: FaultRule): void;
  /** Fails a request the next final approval executes (see RequestFailureRule); clearFaults() clears these too. */
  injectRequestFailure(rule: RequestFailureRule): void;
  clearFaults(): void;
  setJobLatency(ms: number): void;
  /** The next use of the session gets ID.1001. */
  expireSession(sessionUuid: string): void;
  /** The next poll of the job gets 404. */
  expireJob(jobUuid: string): void;
  demo: DemoData;
  /** The ticket as the wire would render it. Direct state access: bypasses HTTP, records nothing. */
  getTicket(uuid: string): Record<string, unknown> | undefined;
  listTickets(): Record<string, unknown>[];
  historyOf(ticketUuid: string): Record<string, unknown>[];
  /** As admin unless an actor (virtual ID, account or user uuid) is given; throws on an illegal change. */
  changeTicketStatus(uuid: string, event: string, actorUuid?: string): void;
  /** E.g. status 'Escalated' to simulate a newer ZStack. */
  setTicketField(uuid: string, field: string, value: unknown): void;
  jobOf(jobUuid: string): { state: 'running' | 'succeeded' | 'failed'; result?: unknown } | undefined;
  /** Back to the seeded state; clears requests and faults. */
  reset(): void;
}

export interface Simulator {
  /** What ZSTACK_URL should be: the context path included, no trailing slash, e.g. http://127.0.0.1:4321/zstack. Paths outside the context get the servlet container's 404. */
  url: string;
  port: number;
  controls: SimulatorControls;
  close(): Promise<void>;
}
