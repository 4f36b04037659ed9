import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type Harness, pendingTicketUuids, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Apollo Client 4 as an approval screen runs it, unmodified and at its defaults: `HttpLink` alone
 * (its subscriptions use Apollo's multipart HTTP protocol, over Node's fetch) and `InMemoryCache`.
 */

const WATCH = gql`
  subscription WatchTickets($uuids: [ID!]) {
    ticketUpdated(uuids: $uuids) {
      id
      uuid
      status
    }
  }
`;
const APPROVE = gql`
  mutation Approve($uuid: ID!) {
    changeTicketStatus(input: { uuid: $uuid, statusEvent: APPROVE, comment: "ok" }) {
      ticket {
        id
        uuid
        status
      }
    }
  }
`;

// biome-ignore lint/suspicious/noExplicitAny: Apollo's results are checked by the tests
type Event = { data?: any; error?: any };

function apollo(uri: string, session?: string) {
  return new ApolloClient({
    link: new HttpLink({ uri, headers: session ? { authorization: `OAuth ${session}` } : {} }),
    cache: new InMemoryCache(),
  });
}

/** Subscribes with Apollo Client and collects what its observable emits. */
function watch(client: ApolloClient, variables: Record<string, unknown>) {
  const events: Event[] = [];
  let completed = false;
  const subscription = client.subscribe({ query: WATCH, variables }).subscribe({
    next: (e) => events.push(e as Event),
    error: (e) => events.push({ error: e }),
    complete: () => {
      completed = true;
    },
  });
  return {
    events,
    get completed() {
      return completed;
    },
    unsubscribe: () => subscription.unsubscribe(),
  };
}

describe('Apollo Client 4 HttpLink subscriptions (multipart)', () => {
  let h: Harness;
  let watcherSession: string;
  let approverSession: string;
  let pending: string[];
  const clients: ApolloClient[] = [];
  const subs: { unsubscribe(): void }[] = [];
  beforeAll(async () => {
    h = await startHarness({ env: { TICKET_POLL_INTERVAL_MS: '250', ZSTACK_TIME_ZONE: 'UTC' } });
    const c = h.simulator.controls;
    const admin = { accountName: c.demo.admin.accountName, password: c.demo.admin.password };
    watcherSession = await h.logIn(admin);
    approverSession = await h.logIn(admin);
    pending = pendingTicketUuids(h.simulator);
  });
  afterEach(async () => {
    for (const s of subs.splice(0)) s.unsubscribe();
    for (const c of clients.splice(0)) c.stop();
    await waitFor(() => h.gateway.feed.size === 0, 'the streams to close');
  });
  afterAll(() => h.close());

  const client = (session?: string) => {
    const c = apollo(h.url, session);
    clients.push(c);
    return c;
  };

  it("receives the approval another client's mutation makes", async () => {
    const uuid = pending[0] as string;
    const stream = watch(client(watcherSession), { uuids: [uuid] });
    subs.push(stream);
    await waitFor(() => h.gateway.feed.size === 1, 'the stream to open');
    const approved = await client(approverSession).mutate({ mutation: APPROVE, variables: { uuid } });
    expect(approved.error).toBeUndefined();
    await waitFor(() => stream.events.length > 0, 'the event');
    const [event] = stream.events;
    expect(event?.error).toBeUndefined();
    expect(event?.data?.ticketUpdated).toMatchObject({ uuid, status: 'INTERMEDIATE_APPROVED' });
    expect(event?.data?.ticketUpdated.status).toBe(
      (approved.data as Event['data'])?.changeTicketStatus.ticket.status,
    );
  });

  it('without a session: an UNAUTHENTICATED error, and ZStack is never asked', async () => {
    h.simulator.controls.clearRequests();
    const stream = watch(client(), { uuids: [pending[1]] });
    subs.push(stream);
    await waitFor(() => stream.events.length > 0, 'the error');
    const error = stream.events[0]?.error;
    expect(error?.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it("a session that expires during the stream: Apollo reports the stream's error (protocol error, UNAUTHENTICATED)", async () => {
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const stream = watch(client(session), { uuids: [pending[2]] });
    subs.push(stream);
    await waitFor(() => h.gateway.feed.size === 1, 'the stream to open');
    c.expireSession(session);
    await waitFor(() => stream.events.length > 0, 'the error');
    const error = stream.events[0]?.error;
    expect(error?.name).toBe('CombinedProtocolErrors');
    expect(error?.errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);
    await waitFor(() => h.gateway.feed.size === 0, 'the stream to end');
  });
});
