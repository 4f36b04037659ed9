import { GraphQLError } from 'graphql';
import { badInput, ErrorCode } from '../errors.js';
import { FeedLimitError } from '../live/feed-stream.js';
import type { TicketFilter } from '../live/ticket-feed.js';
import { authed, forSubscriptionEvent } from '../request/context.js';
import type { QueryCondition } from '../zstack/query.js';
import type { ApiTicket } from '../zstack/types.js';
import { builder } from './builder.js';
import { parseUuid } from './input.js';
import { Ticket } from './ticket.js';
import { MAX_UUID_IN, TicketWhere, ticketConditions } from './ticket-query.js';

builder.subscriptionType({
  description:
    "Live updates over Server-Sent Events (Accept: text/event-stream), Apollo's multipart HTTP subscriptions (Accept: multipart/mixed;subscriptionSpec=1.0, application/json) or GraphQL over WebSocket (graphql-transport-ws). Needs the caller's session.",
});

async function* nothing(): AsyncGenerator<ApiTicket> {}

/**
 * The in-memory filter of a stream, from the validated conditions of its TicketWhere (the feed's one
 * query per session fetches every change; each stream keeps what matches). Null: matches nothing.
 */
function filterOf(
  conditions: readonly QueryCondition[],
  nameContains: string | undefined,
  uuids: readonly string[] | undefined,
): TicketFilter | null {
  const filter: TicketFilter = {};
  let uuidSet = uuids ? new Set(uuids) : undefined;
  for (const c of conditions) {
    const values = typeof c.value === 'string' ? [c.value] : [...(c.value ?? [])];
    if (c.field === 'uuid') {
      const inWhere = new Set(values.map((v) => v.toLowerCase()));
      uuidSet = uuidSet ? new Set([...uuidSet].filter((u) => inWhere.has(u))) : inWhere;
    } else if (c.field === 'status') filter.statuses = new Set(values);
    else if (c.field === 'name' && c.op === '=') filter.name = values[0];
    else if (c.field === 'name' && c.op === '~=') filter.nameContains = nameContains;
    else if (c.field === 'ticketTypeUuid') filter.ticketTypeUuid = values[0];
    else if (c.field === 'flowCollectionUuid') filter.flowCollectionUuid = values[0];
    else if (c.field === 'accountSystemType') filter.accountSystemType = values[0];
    else throw new Error(`ticketUpdated cannot filter on ${c.field} in memory`);
  }
  if (uuidSet?.size === 0) return null;
  if (uuidSet) filter.uuids = uuidSet;
  return filter;
}

builder.subscriptionField('ticketUpdated', (t) =>
  t.field({
    type: Ticket,
    description:
      "Emits a ticket each time it changes: at once for changes made through this gateway's mutations, and within the gateway's poll interval (5 s by default) for changes made elsewhere (ZStack has no push for tickets, so the gateway polls it). Give uuids, where, or both (where: {} watches every ticket the session can see). The number of open streams is capped per session, per account, per client address and in all: one more is refused with SUBSCRIPTION_LIMIT_EXCEEDED (extensions.scope session, account, client or total). A stream whose client does not read its events is cut. Streams end with complete when the gateway shuts down.",
    args: {
      uuids: t.arg.idList({ description: `The tickets to watch (at most ${MAX_UUID_IN}).` }),
      where: t.arg({ type: TicketWhere, description: 'Watch the tickets matching this filter.' }),
    },
    subscribe: (_root, args, ctx) => {
      const { session } = authed(ctx);
      let uuids: string[] | undefined;
      if (args.uuids) {
        if (args.uuids.length > MAX_UUID_IN)
          throw badInput(`uuids lists at most ${MAX_UUID_IN} uuids.`, 'uuids');
        uuids = [...new Set(args.uuids.map((u) => parseUuid(u, 'uuids')))];
      }
      if (!uuids && !args.where) throw badInput('Give uuids, where, or both.', 'uuids');
      const conditions = args.where ? ticketConditions(args.where) : [];
      if (conditions === null || uuids?.length === 0) return nothing();
      const filter = filterOf(conditions, args.where?.nameContains ?? undefined, uuids);
      if (filter === null) return nothing();
      try {
        return ctx.feed.subscribe(session, filter, ctx.signal, ctx.caller);
      } catch (err) {
        if (err instanceof FeedLimitError) {
          throw new GraphQLError(err.message, {
            extensions: { code: ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED, limit: err.limit, scope: err.scope },
          });
        }
        throw err;
      }
    },
    resolve: (ticket, _args, ctx) => {
      forSubscriptionEvent(ctx);
      return ticket;
    },
  }),
);
