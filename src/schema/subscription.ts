import { authed, forSubscriptionEvent } from '../context.js';
import { badInput } from '../errors.js';
import type { ApiTicket } from '../zstack/types.js';
import { builder } from './builder.js';
import { parseUuid } from './input.js';
import { Ticket } from './ticket.js';
import { checkQuery, MAX_UUID_IN, TicketWhere, ticketConditions } from './ticket-query.js';

builder.subscriptionType({
  description:
    "Live updates over Server-Sent Events (POST /graphql with Accept: text/event-stream). Needs the caller's session.",
});

async function* nothing(): AsyncGenerator<ApiTicket> {}

builder.subscriptionField('ticketUpdated', (t) =>
  t.field({
    type: Ticket,
    description:
      "Emits a ticket each time it changes: at once for changes made through this gateway's mutations, and within TICKET_POLL_INTERVAL_MS for changes made elsewhere (ZStack has no push for tickets, so the gateway polls it: one query per session per interval, shared by all of that session's subscribers). Give uuids, where, or both (where: {} watches every ticket the session can see, up to 500).",
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
      let conditions = args.where ? ticketConditions(args.where) : undefined;
      if (conditions === null || uuids?.length === 0) return nothing();
      if (conditions && uuids) conditions = [...conditions, { field: 'uuid', op: '?=', value: uuids }];
      if (conditions) checkQuery({ conditions });
      return ctx.feed.subscribe(session, { uuids, conditions }, ctx.signal);
    },
    resolve: (ticket, _args, ctx) => {
      forSubscriptionEvent(ctx);
      return ticket;
    },
  }),
);
