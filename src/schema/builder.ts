import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import type { Context } from '../request/context.js';

/**
 * The one SchemaBuilder; type files add to it. Defines no domain types.
 *
 * The Relay plugin serves Global Object Identification only (`builder.nodeRef`: the `Node`
 * interface and each type's global `id`). Connections stay hand-written (src/schema/connection.ts)
 * and so does `clientMutationId`; `node`/`nodes` are defined in src/schema/node.ts, so that a
 * malformed id is a BAD_USER_INPUT error at its own path, not a failed list.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [RelayPlugin],
  relay: {
    clientMutationId: 'omit',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // Objects a node lookup loads are branded with their type, so `Node` resolves them without guessing.
    brandLoadedObjects: true,
    nodeTypeOptions: {
      description:
        'An object with a global id (Relay Global Object Identification): refetch it with `node(id:)`.',
    },
    idFieldOptions: {
      description:
        'A global id: distinct across types, the same in every response. Opaque: pass it to `node(id:)`/`nodes(ids:)`; read `uuid` for the ZStack uuid.',
    },
  },
});

builder.queryType({
  description:
    "Reads from ZStack. Every field needs the caller's session unless it says otherwise. A read that fails costs only its own field (null, with its error at its path): the others still arrive.",
});
builder.mutationType({
  description:
    'Writes to ZStack. Each mutation reaches ZStack at most once and is never retried by the gateway. Each is nullable: a write that fails is null, with its error at its path, and the writes after it in the same document still run and answer.',
});
