import type { AugmentedRequest } from '@apollo/datasource-rest';
import { RESTDataSource } from '@apollo/datasource-rest';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { FetcherResponse } from '@apollo/utils.fetcher';
import DataLoader from 'dataloader';
import {
  type ApiTicket,
  type ApiTicketStatusHistory,
  groupHistories,
  mapTicket,
  orderTickets,
  PEER_TYPE_DEFS,
  pollDelayMs,
  sessionFrom,
  sleep,
  type Ticket,
  type TicketStatusHistory,
} from './peer-common.js';
import { DateTimeScalar, JSONScalar, type PeerContext, rootResolvers } from './peer-resolvers.js';

/**
 * The Apollo peer: Apollo Server 5 standalone with @apollo/datasource-rest, written the way Apollo's
 * docs suggest (a data source and DataLoaders per request), doing the gateway's upstream work.
 */

const zstackUrl = process.env.ZSTACK_URL;
if (!zstackUrl) {
  console.error('ZSTACK_URL is required (e.g. http://127.0.0.1:8080/zstack)');
  process.exit(1);
}

class ZStackAPI extends RESTDataSource {
  override baseURL = `${zstackUrl?.replace(/\/$/, '')}/v1/`;

  constructor(private readonly session: string) {
    super();
  }

  protected override willSendRequest(_path: string, request: AugmentedRequest) {
    request.headers.authorization = `OAuth ${this.session}`;
  }

  // Polls of one job share a URL, and each must reach ZStack.
  protected override requestDeduplicationPolicyFor() {
    return { policy: 'do-not-deduplicate' as const };
  }

  // ZStack sends no Content-Type, so the default parser would hand back text.
  protected override async parseBody(response: FetcherResponse): Promise<object | string> {
    const text = await response.text();
    return text ? (JSON.parse(text) as object) : {};
  }

  async changeTicketStatus(uuid: string, statusEvent: string, comment?: string): Promise<ApiTicket> {
    const first = await this.fetch<{ location?: string; inventory?: ApiTicket }>(`tickets/${uuid}/actions`, {
      method: 'PUT',
      body: { changeTicketStatus: { statusEvent, comment } },
      headers: { 'content-type': 'application/json;charset=UTF-8' },
    });
    if (first.response.status === 200 && first.parsedBody.inventory) return first.parsedBody.inventory;
    // Keep only the job's id: the advertised host may not be reachable from here.
    const jobUuid = new URL(String(first.parsedBody.location)).pathname.split('/').pop();
    for (let attempt = 0; ; attempt++) {
      const delay = pollDelayMs(attempt);
      if (delay > 0) await sleep(delay);
      const poll = await this.fetch<{ inventory?: ApiTicket }>(`api-jobs/${jobUuid}`);
      if (poll.response.status === 200 && poll.parsedBody.inventory) return poll.parsedBody.inventory;
    }
  }

  async queryTickets(params: Record<string, string>): Promise<ApiTicket[]> {
    const reply = await this.get<{ inventories?: ApiTicket[] }>('tickets', { params });
    return reply.inventories ?? [];
  }

  async queryHistories(ticketUuids: readonly string[]): Promise<ApiTicketStatusHistory[]> {
    const reply = await this.get<{ inventories?: ApiTicketStatusHistory[] }>('tickets/histories', {
      params: { q: `ticketUuid?=${ticketUuids.join(',')}` },
    });
    return reply.inventories ?? [];
  }
}

interface ApolloContext extends PeerContext {
  histories: DataLoader<string, TicketStatusHistory[]>;
}

function createContext(session: string): ApolloContext {
  const api = new ZStackAPI(session);
  const tickets = new DataLoader<string, Ticket | null>(async (uuids) =>
    orderTickets(
      uuids,
      await api.queryTickets({ q: `uuid?=${uuids.join(',')}`, limit: String(uuids.length) }),
    ),
  );
  const histories = new DataLoader<string, TicketStatusHistory[]>(async (uuids) =>
    groupHistories(uuids, await api.queryHistories(uuids)),
  );
  return {
    histories,
    changeTicketStatus: async (uuid, event, comment) =>
      mapTicket(await api.changeTicketStatus(uuid, event, comment)),
    ticketsFirst: async (first) =>
      (await api.queryTickets({ limit: String(first), start: '0' })).map(mapTicket),
    ticketByUuid: (uuid) => tickets.load(uuid),
  };
}

const server = new ApolloServer<ApolloContext>({
  typeDefs: PEER_TYPE_DEFS,
  resolvers: {
    ...rootResolvers,
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Ticket: {
      history: (ticket: Ticket, _: unknown, ctx: ApolloContext) => ctx.histories.load(ticket.uuid),
    },
  },
});

const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4002), host: process.env.HOST ?? '127.0.0.1' },
  context: async ({ req }) => {
    const session = sessionFrom(req.headers.authorization);
    if (session === undefined) throw new Error('no session');
    return createContext(session);
  },
});
console.log(`apollo listening on ${url}graphql`);

const stop = () => void server.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
