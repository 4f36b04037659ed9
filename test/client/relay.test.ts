import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

// Relay refetches an object with `node(id:)` (and a list with `nodes(ids:)`), by the id the list gave.
// Plain requests say what Relay's would: the same objects come back, and the ids are stable.

const FIELDS = 'id uuid status name';

interface Row {
  id: string;
  uuid: string;
  status: string;
  name: string;
  __typename?: string;
}

let h: Harness;
let session: string;
beforeAll(async () => {
  h = await startHarness();
  session = await h.logIn({ accountName: 'admin', password: 'password' });
});
afterAll(async () => {
  await h?.close();
});

async function list(): Promise<Row[]> {
  const res = await h.gql<{ tickets: { nodes: Row[] } }>(
    `{ tickets(first: 3) { nodes { ${FIELDS} } } }`,
    {},
    { session },
  );
  expect(res.errors).toBeUndefined();
  return res.data?.tickets.nodes ?? [];
}

describe("Relay's refetch by global id", () => {
  it('gives the same ids on every request, distinct from the uuids', async () => {
    const first = await list();
    const again = await list();
    expect(first).toHaveLength(3);
    expect(again).toEqual(first);
    expect(new Set(first.map((t) => t.id)).size).toBe(3);
    for (const t of first) expect(t.id).not.toBe(t.uuid);
  });

  it('refetches each listed ticket with node(id:)', async () => {
    const listed = await list();
    for (const t of listed) {
      const res = await h.gql<{ node: Row | null }>(
        `query($id: ID!) { node(id: $id) { __typename id ... on Ticket { uuid status name } } }`,
        { id: t.id },
        { session },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?.node).toEqual({ __typename: 'Ticket', ...t });
    }
  });

  it('refetches the list with nodes(ids:), in the order asked, in one upstream ticket query', async () => {
    const listed = await list();
    const ids = [...listed].reverse().map((t) => t.id);
    h.simulator.controls.clearRequests();
    const res = await h.gql<{ nodes: (Row | null)[] }>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Ticket { uuid status name } } }`,
      { ids },
      { session },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.nodes).toEqual([...listed].reverse());
    expect(h.simulator.controls.count({ method: 'GET', path: '/zstack/v1/tickets' })).toBe(1);
  });

  it('answers null for an id that names nothing', async () => {
    const [t] = await list();
    const res = await h.gql<{ nodes: (Row | null)[] }>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      { ids: [t?.id, 'not-a-global-id'] },
      { session },
    );
    expect(res.data?.nodes).toEqual([{ id: t?.id }, null]);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
