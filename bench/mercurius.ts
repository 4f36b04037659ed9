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
 *
 * `--deployed` (the bench's `mercurius-deployed`): the same server as users deploy it. Fastify's
 * logger on at its default (`logger: { level: 'info' }`: pino to its default destination, an
 * asynchronous sonic-boom on stdout, a line per request and one per response), a depth limit
 * (`queryDepth: 12`) and the error formatter Mercurius's docs show (the default one, re-implemented).
 */

const zstack = zstackFromEnv();

interface MercuriusPeerContext extends PeerContext {
  session: string;
}

const deployed = process.argv.includes('--deployed');

const app = Fastify({ logger: deployed ? { level: 'info' } : false });

/** As Mercurius's docs (options.md, "errorFormatter") show it: the default, kept, with a status code. */
const deployedOptions = {
  queryDepth: 12,
  errorFormatter: (
    execution: Parameters<typeof mercurius.defaultErrorFormatter>[0],
    context: MercuriusContext,
  ) => {
    const formatted = mercurius.defaultErrorFormatter(execution, context);
    return { statusCode: formatted.statusCode || 500, response: formatted.response };
  },
};

await app.register(mercurius, {
  schema: PEER_TYPE_DEFS,
  jit: 1,
  ...(deployed ? deployedOptions : {}),
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
console.log(`mercurius${deployed ? ' (as deployed)' : ''} listening on ${address}/graphql`);

const stop = () => {
  void app
    .close()
    .then(() => zstack.close())
    .then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
