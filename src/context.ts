import { unauthenticated } from './errors.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { TicketFeed } from './ticket-feed.js';
import type { TimeZoneSource } from './time-zone.js';
import type { CallOptions, ZStackClient } from './zstack/client.js';

/** What every resolver gets; created per request, never shared between callers. */
export interface Context {
  /** The caller's ZStack session uuid (lowercase), or undefined when none was sent. */
  readonly session: string | undefined;
  /** Aborts when the caller goes away. */
  readonly signal: AbortSignal;
  readonly client: ZStackClient;
  readonly timeZone: TimeZoneSource;
  /** Batching loaders bound to this request's session; never shared with another request. */
  readonly loaders: Loaders;
  /** Live ticket changes (subscriptions); shared by the gateway, keyed by session. */
  readonly feed: TicketFeed;
}

/** The context of one GraphQL request: its session, abort signal and fresh loaders. */
export function createContext(deps: {
  authorization: string | null | undefined;
  signal: AbortSignal;
  client: ZStackClient;
  timeZone: TimeZoneSource;
  feed: TicketFeed;
}): Context {
  const session = sessionFromHeader(deps.authorization);
  return {
    session,
    signal: deps.signal,
    client: deps.client,
    timeZone: deps.timeZone,
    feed: deps.feed,
    loaders: createLoaders({ client: deps.client, session, signal: deps.signal }),
  };
}

const SESSION_HEADER = /^(?:OAuth|Bearer)\s+([0-9a-fA-F]{32})\s*$/;

/**
 * Reads `Authorization: OAuth <uuid>` or `Bearer <uuid>`. A header in any other shape counts as
 * no session, so it never reaches ZStack.
 */
export function sessionFromHeader(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = SESSION_HEADER.exec(header);
  return match?.[1]?.toLowerCase();
}

/** The session and abort signal for an upstream call; refuses before any call when there is no session. */
export function authed(ctx: Context): CallOptions & { session: string } {
  if (!ctx.session) throw unauthenticated();
  return { session: ctx.session, signal: ctx.signal };
}
