import { unauthenticated } from '../errors.js';
import type { StreamCaller } from '../live/feed-stream.js';
import type { TicketFeed } from '../live/ticket-feed.js';
import type { RequestScope } from '../observability/request-scope.js';
import type { CallerSignal } from '../zstack/call-types.js';
import type { CallOptions, ZStackClient } from '../zstack/client.js';
import { CallTracker, createLoaders, type Loaders } from './loaders.js';
import type { LoginLimiter } from './login-limit.js';
import { OperationBudget } from './operation-budget.js';
import type { TimeZoneSource } from './time-zone.js';

/** What every resolver gets; created per request, never shared between callers. */
export interface Context {
  /** The caller's ZStack session uuid (lowercase), or undefined when none was sent. */
  readonly session: string | undefined;
  /** Aborts when the caller goes away. */
  readonly signal: CallerSignal;
  /**
   * Absolute time (Date.now() based) after which no upstream call or job wait of this operation goes
   * on. Unset for a subscription's events (see forSubscriptionEvent).
   */
  deadline: number | undefined;
  /** The upstream client, every call of it counted in `calls`. */
  readonly client: ZStackClient;
  /** This operation's upstream calls in flight: names are asked for once none is (resourceByUuid). */
  readonly calls: CallTracker;
  /**
   * What this operation may still cost ZStack: rows, calls, names and answer bytes
   * (MAX_ROWS_PER_OPERATION, MAX_UPSTREAM_CALLS_PER_OPERATION, MAX_NAMED_UUIDS_PER_OPERATION,
   * ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION); `client` counts them.
   */
  readonly budget: OperationBudget;
  /** Most entries of one TicketRequest.resources list (MAX_RESOURCES_PER_REQUEST). */
  readonly maxResourcesPerRequest: number;
  /** Largest body one upstream call may carry (ZSTACK_MAX_REQUEST_BYTES): writes check their input first. */
  readonly maxRequestBytes: number;
  readonly timeZone: TimeZoneSource;
  /**
   * Batching loaders bound to this request's session; never shared with another request. Each
   * subscription event gets new ones (see forSubscriptionEvent).
   */
  loaders: Loaders;
  /** Live ticket changes (subscriptions); shared by the gateway, keyed by session. */
  readonly feed: TicketFeed;
  /** logIn's throttle (LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE, LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE); none when unset. */
  readonly logins: LoginLimiter | undefined;
  /** The client's address key and its response, for the per-address caps (streams, logins) and the slow-reader bound. */
  readonly caller: StreamCaller;
  /**
   * The request's scope (its id and counters for the log line and metrics), put on the node request
   * by the HTTP layer; passed on as every upstream call's `tag`, so its events count on it.
   */
  scope: RequestScope | undefined;
}

/** Where the HTTP layer hangs a request's scope on the node request (attachScope). */
export const REQUEST_TAG: unique symbol = Symbol('requestTag');

/** A node request as the HTTP layer hands it on: with its scope. */
export type ScopedRequest = object & { [REQUEST_TAG]?: RequestScope };

/** The scope the HTTP layer put on a node request, if any. */
export function requestTag(req: unknown): RequestScope | undefined {
  return typeof req === 'object' && req !== null ? (req as ScopedRequest)[REQUEST_TAG] : undefined;
}

/** The context of one GraphQL request: its session, abort signal and fresh loaders. */
export function createContext(deps: {
  authorization: string | null | undefined;
  signal: CallerSignal;
  client: ZStackClient;
  timeZone: TimeZoneSource;
  feed: TicketFeed;
  /** The client's address and response (subscriptions); none when unset. */
  caller?: StreamCaller;
  /** The whole operation's budget; unlimited when unset. */
  operationTimeoutMs?: number;
  /** Most rows the operation may read from ZStack; unlimited when unset. */
  maxRows?: number;
  /** Most upstream calls the operation may send; unlimited when unset. */
  maxUpstreamCalls?: number;
  /** Most distinct uuids the operation may name; unlimited when unset. */
  maxNamedUuids?: number;
  /** Most entries of one TicketRequest.resources list; unlimited when unset. */
  maxResourcesPerRequest?: number;
  /** Largest body of one upstream call; unlimited when unset. */
  maxRequestBytes?: number;
  /** Most answer bytes the operation may read from ZStack; unlimited when unset. */
  maxResponseBytes?: number;
  logins?: LoginLimiter;
  scope?: RequestScope;
}): Context {
  const session = sessionFromHeader(deps.authorization);
  const deadline = deps.operationTimeoutMs === undefined ? undefined : Date.now() + deps.operationTimeoutMs;
  const calls = new CallTracker();
  const budget = new OperationBudget({
    maxRows: deps.maxRows,
    maxCalls: deps.maxUpstreamCalls,
    maxNamedUuids: deps.maxNamedUuids,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const client = calls.wrap(budget.wrap(deps.client));
  return {
    session,
    signal: deps.signal,
    deadline,
    client,
    calls,
    budget,
    maxResourcesPerRequest: deps.maxResourcesPerRequest ?? Number.POSITIVE_INFINITY,
    maxRequestBytes: deps.maxRequestBytes ?? Number.POSITIVE_INFINITY,
    timeZone: deps.timeZone,
    feed: deps.feed,
    logins: deps.logins,
    caller: deps.caller ?? {},
    scope: deps.scope,
    loaders: createLoaders({
      client,
      session,
      signal: deps.signal,
      deadline,
      tag: deps.scope,
      calls,
      budget,
    }),
  };
}

/**
 * A subscription event is resolved like a new operation: with loaders of its own (a cache from an
 * earlier event would show stale relations) and without the opening request's deadline (a stream
 * outlives any operation budget).
 */
export function forSubscriptionEvent(ctx: Context): void {
  ctx.deadline = undefined;
  // The opening request has long been answered and logged: nothing to attribute events to.
  ctx.scope = undefined;
  ctx.budget.reset();
  ctx.loaders = createLoaders({
    client: ctx.client,
    session: ctx.session,
    signal: ctx.signal,
    calls: ctx.calls,
    budget: ctx.budget,
  });
}

const SESSION_HEADER = /^(?:OAuth|Bearer)\s+([0-9a-fA-F]{32})\s*$/;

/**
 * Reads `Authorization: OAuth <uuid>` or `Bearer <uuid>`. A header in any other shape counts as
 * no session, so it never reaches ZStack.
 */
export function sessionFromHeader(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  // Read twice per request (its scope, its context), and a caller sends the same header each time.
  if (header === lastHeader) return lastSession;
  const match = SESSION_HEADER.exec(header);
  lastSession = match?.[1]?.toLowerCase();
  lastHeader = header;
  return lastSession;
}

let lastHeader: string | undefined;
let lastSession: string | undefined;

/**
 * The caller's abort signal, the operation's deadline and its answer-byte budget, for an upstream call
 * that needs no session. Every call an operation makes takes its options from here, authed() or the
 * loaders, so the budget needs no per-call copy of the options.
 */
export function callOptions(ctx: Context): CallOptions {
  return { signal: ctx.signal, deadline: ctx.deadline, tag: ctx.scope, answerBytes: ctx.budget };
}

/** The session, abort signal and deadline for an upstream call; refuses before any call when there is no session. */
export function authed(ctx: Context): CallOptions & { session: string } {
  if (!ctx.session) throw unauthenticated();
  return {
    session: ctx.session,
    signal: ctx.signal,
    deadline: ctx.deadline,
    tag: ctx.scope,
    answerBytes: ctx.budget,
  };
}
