import { describe, expect, it } from 'vitest';
import { livePollsOf } from '../helpers/feed-calls.js';
import { skipRedisTests } from '../helpers/redis.js';
import { useRedisFixture } from '../helpers/redis-gateways.js';
import { waitFor } from '../helpers/wait.js';
import { wsClient, wsSubscribe } from '../helpers/ws.js';

const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;
const WATCH = 'subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid status } }';

const fixture = useRedisFixture();

describe.skipIf(skipRedisTests)('WebSocket subscriptions across instances (REDIS_URL)', () => {
  it('an approval through B reaches a WebSocket subscriber on A at once (pushed through Redis)', async () => {
    fixture.simulator.controls.reset();
    // Live-update polls every minute: only a push through Redis can bring B's mutation to A in time.
    const [a, b] = await fixture.start(2, { TICKET_POLL_INTERVAL_MS: '60000' });
    if (a === undefined || b === undefined) throw new Error('two gateways');
    const c = fixture.simulator.controls;
    const session = await a.adminSession();
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    // A's read of the ticket the shared log named is not a poll.
    const polls = () => livePollsOf(c.requests, session);
    const client = wsClient(a.url, { session });
    const sub = wsSubscribe(client, WATCH, { uuids: [uuid] });
    try {
      await waitFor(() => a.gateway.feed.size === 1 && polls() >= 1, 'the stream on A and its first poll');
      const before = polls();
      const res = await b.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
      expect(res.errors).toBeUndefined();
      const event = await sub.next(5000);
      expect(event.errors).toBeUndefined();
      expect(event.data).toMatchObject({ ticketUpdated: { uuid, status: 'INTERMEDIATE_APPROVED' } });
      // Pushed, not found by a poll of A's.
      expect(polls()).toBe(before);
    } finally {
      sub.close();
      await client.dispose();
    }
  });
});
