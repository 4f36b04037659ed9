import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

// Apollo Client 4 as a new user sets it up: InMemoryCache at its defaults (no typePolicies, no keyFields)
// and an HttpLink to the served gateway. The cache normalizes by `__typename` + `id`, so every type with
// an identity must carry an `id` for a mutation's answer to reach what the screen already shows.

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

const PENDING = gql`
  query PendingTickets {
    tickets(where: { statusIn: [PENDING] }) {
      nodes {
        id
        uuid
        status
        name
      }
    }
  }
`;

const DECIDE = gql`
  mutation Decide($uuid: ID!, $event: TicketStatusEvent!) {
    changeTicketStatus(input: { uuid: $uuid, statusEvent: $event }) {
      ticket {
        id
        uuid
        status
      }
    }
  }
`;

// Without `id`, so that this test depends on persisted queries alone.
const PENDING_UUIDS = gql`
  query PendingTicketUuids {
    tickets(where: { statusIn: [PENDING] }) {
      nodes {
        uuid
        status
      }
    }
  }
`;

interface Listed {
  tickets: { nodes: { __typename: 'Ticket'; id: string; uuid: string; status: string; name: string }[] };
}
interface Decided {
  changeTicketStatus: { ticket: { id: string; uuid: string; status: string } };
}

/** The requests that listed tickets upstream (QueryTicket), not those that read one ticket by uuid. */
function listQueries(h: Harness): number {
  return h.simulator.controls.requests.filter((r) => r.method === 'GET' && r.path === '/zstack/v1/tickets')
    .length;
}

/** A fetch that records every body it sends, then sends it with the platform's fetch. */
function recordingFetch(bodies: Record<string, unknown>[]): typeof fetch {
  return (input, init) => {
    if (typeof init?.body === 'string') bodies.push(JSON.parse(init.body) as Record<string, unknown>);
    return fetch(input, init);
  };
}

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

describe('Apollo Client 4 with InMemoryCache at its defaults', () => {
  it('shows an approval in the cached list with no refetch', async () => {
    h = await startHarness();
    const session = await h.logIn({ accountName: 'admin', password: 'password' });
    // Apollo reports cache trouble (e.g. data lost when merging an object without id) as warnings.
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    const cache = new InMemoryCache();
    const client = new ApolloClient({
      cache,
      link: new HttpLink({ uri: h.url, headers: { authorization: `OAuth ${session}` } }),
    });

    const listed = await client.query<Listed>({ query: PENDING });
    const first = listed.data?.tickets.nodes[0];
    expect(first?.status).toBe('PENDING');
    const target = first as NonNullable<typeof first>;
    const before = cache.extract();
    // The list's entries are references to normalized tickets, not copies inside ROOT_QUERY.
    expect(before[`Ticket:${target.id}`]).toMatchObject({ uuid: target.uuid, status: 'PENDING' });
    expect(listQueries(h)).toBe(1);

    const decided = await client.mutate<Decided>({
      mutation: DECIDE,
      variables: { uuid: target.uuid, event: 'APPROVE' },
    });
    const newStatus = decided.data?.changeTicketStatus.ticket.status;
    expect(newStatus).toMatch(/^(INTERMEDIATE|FINAL)_APPROVED$/);
    expect(decided.data?.changeTicketStatus.ticket.id).toBe(target.id);

    // The screen reads its list again: from the cache only, and the entry has the mutation's status.
    const cached = client.readQuery<Listed>({ query: PENDING });
    const entry = cached?.tickets.nodes.find((t) => t.uuid === target.uuid);
    expect(entry).toMatchObject({ id: target.id, status: newStatus, name: target.name });
    const cacheOnly = await client.query<Listed>({ query: PENDING, fetchPolicy: 'cache-only' });
    expect(cacheOnly.data?.tickets.nodes.find((t) => t.uuid === target.uuid)?.status).toBe(newStatus);
    const after = cache.extract();
    expect(after[`Ticket:${target.id}`]).toMatchObject({ status: newStatus });
    expect(listQueries(h)).toBe(1);
    expect([...warn.mock.calls, ...error.mock.calls]).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'apollo-cache-before.json'), `${JSON.stringify(before, null, 2)}\n`);
    writeFileSync(join(ARTIFACTS, 'apollo-cache-after.json'), `${JSON.stringify(after, null, 2)}\n`);
  });
});

describe("Apollo Client 4's PersistedQueryLink at its defaults", () => {
  it('registers a document once, then sends only its hash', async () => {
    h = await startHarness();
    const session = await h.logIn({ accountName: 'admin', password: 'password' });
    const bodies: Record<string, unknown>[] = [];
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const http = new HttpLink({
      uri: h.url,
      headers: { authorization: `OAuth ${session}` },
      fetch: recordingFetch(bodies),
    });
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new PersistedQueryLink({ sha256 }).concat(http),
    });

    h.simulator.controls.clearRequests();
    const first = await client.query<Listed>({ query: PENDING_UUIDS, fetchPolicy: 'network-only' });
    expect(first.data?.tickets.nodes.length).toBeGreaterThan(0);
    // 1: hash only → PersistedQueryNotFound; 2: the same hash with its document (registers and runs).
    expect(bodies).toHaveLength(2);
    // The second carries the document; the first carried only that document's hash.
    expect(typeof bodies[1]?.query).toBe('string');
    const hash = sha256(String(bodies[1]?.query));
    expect(bodies[0]).not.toHaveProperty('query');
    expect(bodies[0]?.extensions).toMatchObject({ persistedQuery: { version: 1, sha256Hash: hash } });
    expect(bodies[1]?.extensions).toMatchObject({ persistedQuery: { version: 1, sha256Hash: hash } });
    // The miss reached no ZStack; the registration ran the query once.
    expect(listQueries(h)).toBe(1);

    const second = await client.query<Listed>({ query: PENDING_UUIDS, fetchPolicy: 'network-only' });
    expect(second.data).toEqual(first.data);
    expect(bodies).toHaveLength(3);
    expect(bodies[2]).not.toHaveProperty('query');
    expect(bodies[2]?.extensions).toMatchObject({ persistedQuery: { version: 1, sha256Hash: hash } });
    // The hash-only request was answered by running the registered document against ZStack.
    expect(listQueries(h)).toBe(2);
  });
});
