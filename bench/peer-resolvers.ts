import { GraphQLScalarType } from 'graphql';
import type { Ticket } from './peer-common.js';

/** What a peer's context must offer; each peer fills it with its own HTTP stack. */
export interface PeerContext {
  changeTicketStatus(uuid: string, statusEvent: string, comment?: string): Promise<Ticket>;
  ticketsFirst(first: number): Promise<Ticket[]>;
  ticketByUuid(uuid: string): Promise<Ticket | null>;
}

interface ChangeTicketStatusArgs {
  input: { uuid: string; statusEvent: string; comment?: string | null; clientMutationId?: string | null };
}

const UUID = /^[0-9a-fA-F]{32}$/;

// Values are already ISO strings or plain JSON after mapping; the scalars only pass them through.
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
});

/** Root resolvers shared by Apollo and Mercurius; `Ticket.history` is each peer's own (batched). */
export const rootResolvers = {
  Query: {
    tickets: async (_: unknown, args: { first?: number | null }, ctx: PeerContext) => ({
      nodes: await ctx.ticketsFirst(args.first ?? 50),
    }),
    ticket: (_: unknown, args: { uuid: string }, ctx: PeerContext) => {
      if (!UUID.test(args.uuid)) throw new Error('uuid must be 32 hex characters');
      return ctx.ticketByUuid(args.uuid.toLowerCase());
    },
  },
  Mutation: {
    changeTicketStatus: async (_: unknown, { input }: ChangeTicketStatusArgs, ctx: PeerContext) => {
      if (!UUID.test(input.uuid)) throw new Error('uuid must be 32 hex characters');
      const ticket = await ctx.changeTicketStatus(
        input.uuid.toLowerCase(),
        input.statusEvent.toLowerCase(),
        input.comment ?? undefined,
      );
      return { ticket, clientMutationId: input.clientMutationId ?? null };
    },
  },
};
