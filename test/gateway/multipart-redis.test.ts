import { describe, expect, it } from 'vitest';
import { subscribeMultipart } from '../helpers/multipart.js';
import { skipRedisTests } from '../helpers/redis.js';
import { useRedisFixture } from '../helpers/redis-gateways.js';
import { waitFor } from '../helpers/wait.js';

const CHANGE = `mutation($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid status } } }`;
const WATCH = 'subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid status } }';

const fixture = useRedisFixture();

describe.skipIf(skipRedisTests)('multipart subscriptions across instances (REDIS_URL)', () => {
  it('an approval through one instance reaches a multipart stream on another at once', async () => {
    const [a, b] = await fixture.start(2, { TICKET_POLL_INTERVAL_MS: '60000' });
    if (a === undefined || b === undefined) throw new Error('two gateways');
    const c = fixture.simulator.controls;
    const session = await a.adminSession();
    const uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const stream = await subscribeMultipart(a.url, WATCH, { uuids: [uuid] }, session);
    fixture.streams.push(stream as never);
    await waitFor(() => a.gateway.feed.size === 1, 'the stream');
    const res = await b.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
    expect(res.errors).toBeUndefined();
    const part = await stream.nextEvent(5000);
    expect(part.payload.data.ticketUpdated).toMatchObject({ uuid, status: 'INTERMEDIATE_APPROVED' });
  });
});
