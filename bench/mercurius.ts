import DataLoader from 'dataloader';
import Fastify from 'fastify';
import mercurius, { type MercuriusContext } from 'mercurius';
import {
  groupHistories,
  mapTicket,
  orderTickets,
  PEER_TYPE_DEFS,
  sessionFrom,
  type Ticket,
  zstackFromEnv,
} from './peer-common.js';
import { DateTimeScalar, JSONScalar, type PeerContext, rootResolvers } from './peer-resolvers.js';

/**
 * The Mercurius peer: Fastify + Mercurius with graphql-jit (`jit: 1`, compile on first use), an undici
 * Pool upstream, Mercurius loaders for `history` and a per-request DataLoader for `ticket(uuid:)`.
 */

const zstack = zstackFromEnv();

interface MercuriusPeerContext extends PeerContext {
  session: string;
}

const app = Fastify({ logger: false });

await app.register(mercurius, {
  schema: PEER_TYPE_DEFS,
  jit: 1,
  // Mercurius types resolvers against its own context type; ours is merged into it by `context`.
  resolvers: { ...rootResolvers, DateTime: DateTimeScalar, JSON: JSONScalar } as never,
  loaders: {
    Ticket: {
      history: async (queries: Array<{ obj: Ticket }>, ctx: MercuriusContext) => {
        const uuids = queries.map((q) => q.obj.uuid);
        const { session } = ctx as unknown as MercuriusPeerContext;
        return groupHistories(uuids, await zstack.queryHistories(session, uuids));
      },
    },
  },
  context: (request): MercuriusPeerContext => {
    const session = sessionFrom(request.headers.authorization);
    if (session === undefined) throw new Error('no session');
    const tickets = new DataLoader<string, Ticket | null>(async (uuids) =>
      orderTickets(
        uuids,
        await zstack.queryTickets(
          session,
          new URLSearchParams({ q: `uuid?=${uuids.join(',')}`, limit: String(uuids.length) }),
        ),
      ),
    );
    return {
      session,
      changeTicketStatus: async (uuid, event, comment) =>
        mapTicket(await zstack.changeTicketStatus(session, uuid, event, comment)),
      ticketsFirst: async (first) =>
        (await zstack.queryTickets(session, new URLSearchParams({ limit: String(first), start: '0' }))).map(
          mapTicket,
        ),
      ticketByUuid: (uuid) => tickets.load(uuid),
    };
  },
});

const address = await app.listen({
  port: Number(process.env.PORT ?? 4003),
  host: process.env.HOST ?? '127.0.0.1',
});
console.log(`mercurius listening on ${address}/graphql`);

const stop = () => {
  void app
    .close()
    .then(() => zstack.close())
    .then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
