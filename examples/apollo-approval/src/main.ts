import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { DecideTicket, type ListedTicket, LogIn, PendingTickets } from './operations.js';

// The approval screen's data flow with Apollo Client at its defaults: list the tickets waiting for a
// decision, approve (or reject) one, then render the list again from the cache alone. No typePolicies,
// no refetchQueries: the gateway gives every ticket an `id`, so the mutation's answer lands on the
// list's entry. Settings come from the environment so the example runs against any gateway unchanged.
const env = process.env;
const decision = env.DECISION === 'reject' ? 'REJECT' : 'APPROVE';
let session: string | undefined;

// Sends `Authorization: OAuth <session>` once logged in.
const auth = new ApolloLink((operation, forward) => {
  if (session) operation.setContext({ headers: { authorization: `OAuth ${session}` } });
  return forward(operation);
});
const cache = new InMemoryCache();
const client = new ApolloClient({
  cache,
  link: auth.concat(new HttpLink({ uri: env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql' })),
});

const row = (t: ListedTicket) => ({ uuid: t.uuid, name: t.name, status: t.status });

async function main(): Promise<void> {
  const loggedIn = await client.mutate({
    mutation: LogIn,
    variables: { accountName: env.ZSTACK_ACCOUNT ?? 'admin', password: env.ZSTACK_PASSWORD ?? 'password' },
  });
  session = loggedIn.data?.logIn.session.uuid;

  const first = Number(env.FIRST ?? 10);
  const listed = await client.query({ query: PendingTickets, variables: { first } });
  const before = listed.data?.tickets.nodes ?? [];
  const chosen = before.find((t) => t.uuid === env.TICKET_UUID) ?? before[0];
  if (!chosen) {
    console.log(JSON.stringify({ waiting: 0, before: [], decided: null, after: [] }));
    return;
  }

  const decided = await client.mutate({
    mutation: DecideTicket,
    variables: {
      uuid: chosen.uuid,
      event: decision,
      comment:
        env.COMMENT ?? `${decision === 'REJECT' ? 'Rejected' : 'Approved'} by the apollo-approval example`,
    },
  });

  // What the screen renders after the decision: the same query, answered by the cache only.
  const again = await client.query({
    query: PendingTickets,
    variables: { first },
    fetchPolicy: 'cache-only',
  });
  console.log(
    JSON.stringify({
      waiting: listed.data?.tickets.totalCount,
      before: before.map(row),
      decided: decided.data?.changeTicketStatus.ticket ?? null,
      after: (again.data?.tickets.nodes ?? []).map(row),
      cachedTickets: Object.keys(cache.extract()).filter((key) => key.startsWith('Ticket:')).length,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
