import { Client, fetchExchange, gql } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

// urql with Graphcache at its defaults (no `keys`, no schema, no updaters): it keys entities by
// `__typename` + `id` (or `_id`) and warns ("Invalid key") for every selection it cannot key, except
// Relay's Connection, Edge and PageInfo types.

const PENDING = gql`
  query PendingTickets {
    tickets(where: { statusIn: [PENDING] }) {
      nodes {
        id
        uuid
        status
        name
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

interface Listed {
  tickets: { nodes: { id: string; uuid: string; status: string; name: string; history: unknown[] }[] };
}
interface Decided {
  changeTicketStatus: { ticket: { id: string; uuid: string; status: string } };
}

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

describe('urql with Graphcache at its defaults', () => {
  it('gives no key warnings, and an approval reaches the cached list', async () => {
    h = await startHarness();
    const session = await h.logIn({ accountName: 'admin', password: 'password' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const client = new Client({
      url: h.url,
      exchanges: [cacheExchange(), fetchExchange],
      fetchOptions: { headers: { authorization: `OAuth ${session}` } },
    });
    const lists = () =>
      h?.simulator.controls.requests.filter((r) => r.method === 'GET' && r.path === '/zstack/v1/tickets')
        .length;

    const listed = await client.query<Listed>(PENDING, {}).toPromise();
    expect(listed.error).toBeUndefined();
    const target = listed.data?.tickets.nodes[0];
    expect(target?.status).toBe('PENDING');
    expect(lists()).toBe(1);

    const decided = await client
      .mutation<Decided>(DECIDE, { uuid: target?.uuid, event: 'APPROVE' })
      .toPromise();
    expect(decided.error).toBeUndefined();
    const newStatus = decided.data?.changeTicketStatus.ticket.status;
    expect(newStatus).toMatch(/^(INTERMEDIATE|FINAL)_APPROVED$/);

    const cached = await client.query<Listed>(PENDING, {}, { requestPolicy: 'cache-only' }).toPromise();
    expect(cached.data?.tickets.nodes.find((t) => t.uuid === target?.uuid)).toMatchObject({
      id: target?.id,
      status: newStatus,
      name: target?.name,
    });
    expect(lists()).toBe(1);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([]);
  });
});
