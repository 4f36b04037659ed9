import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { subscribeMultipart } from '../helpers/multipart.js';
import { subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `@defer`: an approval screen renders the ticket first; the names of what it asks for (one
 * GetResourceNames call) follow in their own part as soon as ZStack answers.
 */

const TICKET = `query TicketWithNames($uuid: ID!) {
  ticket(uuid: $uuid) {
    uuid
    status
    ... @defer(label: "names") { request { resources { uuid name } } }
  }
}`;
/** What Apollo Client 4 sends for a document with @defer (with its Defer20220824Handler). */
const DEFER_ACCEPT = 'multipart/mixed;deferSpec=20220824,application/json';

describe('@defer', () => {
  let h: Harness;
  let session: string;
  let uuid: string;
  beforeAll(async () => {
    h = await startHarness({ env: { ZSTACK_TIME_ZONE: 'UTC', GRAPHQL_MAX_ALIASES: '2' } });
    const c = h.simulator.controls;
    session = await h.adminSession();
    uuid = c.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
  });
  beforeEach(() => {
    h.simulator.controls.clearFaults();
    h.simulator.controls.clearRequests();
  });
  afterAll(() => h.close());

  const names = () => h.simulator.controls.count({ method: 'GET', path: '/v1/resources/names' });

  it('multipart: the ticket comes first, its resource names in a later part once GetResourceNames answers', async () => {
    // ZStack holds the names' answer: the ticket's part must not wait for it.
    h.simulator.controls.injectFault({ fault: { kind: 'latency', ms: 1000 }, path: '/v1/resources/names' });
    const s = await subscribeMultipart(h.url, TICKET, { uuid }, session, { accept: DEFER_ACCEPT });
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^multipart\/mixed/);
    const first = await s.next();
    expect(first).toMatchObject({ data: { ticket: { uuid, status: 'PENDING' } }, hasNext: true });
    expect(first.data.ticket.request).toBeUndefined();
    // The names were asked for, and their part has not come: it waits for ZStack's answer.
    await waitFor(() => names() === 1, 'the names call');
    expect(s.pending).toBe(0);
    const second = await s.next(5000);
    expect(second.hasNext).toBe(false);
    expect(second.incremental).toHaveLength(1);
    const [patch] = second.incremental;
    expect(patch.label).toBe('names');
    expect(patch.path).toEqual(['ticket']);
    const resources = patch.data.request.flatMap(
      (r: { resources: { name: string | null }[] }) => r.resources,
    );
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.every((r: { name: string | null }) => typeof r.name === 'string')).toBe(true);
    expect(await s.ended).toMatch(/--\r\n$/);
    expect(names()).toBe(1);
  });

  it('SSE: the same two results, as `next` events', async () => {
    const s = await subscribe(h.url, TICKET, { uuid }, session);
    try {
      // biome-ignore lint/suspicious/noExplicitAny: incremental results
      const first = (await s.next()) as any;
      expect(first).toMatchObject({ data: { ticket: { uuid, status: 'PENDING' } }, hasNext: true });
      // biome-ignore lint/suspicious/noExplicitAny: incremental results
      const second = (await s.next()) as any;
      expect(second.hasNext).toBe(false);
      expect(second.incremental[0].data.request[0].resources[0].name).toEqual(expect.any(String));
    } finally {
      s.close();
    }
  });

  it('a JSON POST of a @defer document is refused (406, NOT_ACCEPTABLE) before any upstream call', async () => {
    const res = await h.gql(TICKET, { uuid }, { session });
    expect(res.status).toBe(406);
    expect(res.errors?.[0]?.extensions?.code).toBe(ErrorCode.NOT_ACCEPTABLE);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('the limits apply to @defer documents too (GRAPHQL_MAX_ALIASES)', async () => {
    const s = await subscribeMultipart(
      h.url,
      'query($uuid: ID!) { ticket(uuid: $uuid) { a: uuid ... @defer { b: uuid c: status } } }',
      { uuid },
      session,
      { accept: DEFER_ACCEPT },
    );
    const body = s.json ?? (await s.next());
    expect(body.errors?.[0]?.extensions?.code).toBe(ErrorCode.ALIAS_LIMIT_EXCEEDED);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('Apollo Client 4 with Defer20220824Handler gets the ticket, then the names merged into it', async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: h.url, headers: { authorization: `OAuth ${session}` } }),
      cache: new InMemoryCache(),
      incrementalHandler: new Defer20220824Handler(),
    });
    try {
      const seen: { data?: unknown; dataState?: string }[] = [];
      const query = client.watchQuery({ query: gql(TICKET), variables: { uuid } });
      const done = new Promise<void>((resolve, reject) => {
        const sub = query.subscribe({
          next: (r) => {
            seen.push(r as never);
            if ((r as { dataState?: string }).dataState === 'complete') {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      await done;
      const streamed = seen.find((r) => r.dataState === 'streaming');
      expect(streamed?.data).toMatchObject({ ticket: { uuid, status: 'PENDING' } });
      // biome-ignore lint/suspicious/noExplicitAny: Apollo's result
      const complete = seen.at(-1)?.data as any;
      expect(complete.ticket.uuid).toBe(uuid);
      expect(complete.ticket.request[0].resources[0].name).toEqual(expect.any(String));
    } finally {
      client.stop();
    }
  });
});
