import { Client, fetchExchange, gql, subscriptionExchange } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

// urql as its docs set up subscriptions over graphql-ws: Graphcache at its defaults (no `keys`, no
// schema, no updaters), fetchExchange for queries and mutations, subscriptionExchange forwarding to
// a graphql-ws client. Graphcache warns ("Invalid key") for every nested selection it cannot key, so
// the subscription selects the ticket's history and flows as a screen would.

const WATCH = gql`
  subscription WatchTicket($uuids: [ID!]) {
    ticketUpdated(uuids: $uuids) {
      id
      uuid
      status
      history {
        id
        toStatus
      }
      flowCollection {
        id
        flows {
          id
        }
      }
    }
  }
`;

const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;

interface Watched {
  ticketUpdated: { id: string; uuid: string; status: string };
}

let h: Harness | undefined;
let ws: WsClient | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await ws?.dispose();
  ws = undefined;
  await h?.close();
  h = undefined;
});

describe('urql with Graphcache and subscriptionExchange over graphql-ws', () => {
  it("a ticketUpdated subscription receives another client's approval, with no key warnings", async () => {
    // Live-update polls every minute: within this test only a push can deliver the approval.
    h = await startHarness({ env: { TICKET_POLL_INTERVAL_MS: '60000', ZSTACK_TIME_ZONE: 'UTC' } });
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    expect(uuid).toBeDefined();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);

    const socket = createClient({
      url: h.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `OAuth ${session}` },
    });
    ws = socket;
    const client = new Client({
      url: h.url,
      exchanges: [
        cacheExchange(),
        fetchExchange,
        subscriptionExchange({
          forwardSubscription(request) {
            const input = { ...request, query: request.query || '' };
            return {
              subscribe(sink) {
                const unsubscribe = socket.subscribe(input, sink);
                return { unsubscribe };
              },
            };
          },
        }),
      ],
      fetchOptions: { headers: { authorization: `OAuth ${session}` } },
    });

    const events: Watched[] = [];
    const errors: unknown[] = [];
    const { unsubscribe } = client.subscription<Watched>(WATCH, { uuids: [uuid] }).subscribe((result) => {
      if (result.error) errors.push(result.error);
      if (result.data) events.push(result.data);
    });
    try {
      await waitFor(() => h?.gateway.feed.size === 1, 'the subscription to reach the gateway');
      const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
      expect(res.errors).toBeUndefined();
      await waitFor(() => events.length > 0 || errors.length > 0, 'the approval over the socket', 5000);
      expect(errors).toEqual([]);
      expect(events[0]).toMatchObject({
        ticketUpdated: { uuid, status: expect.stringMatching(/APPROVED$/) },
      });
      // Graphcache sends __typename and keys the ticket by it and `id` (it warns when it cannot),
      // then answers with the selection as written (no __typename in it).
      expect(typeof events[0]?.ticketUpdated.id).toBe('string');
    } finally {
      unsubscribe();
    }
    expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([]);
  });
});
