import { decodeGlobalID, encodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import type DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import { badInput } from '../errors.js';
import { authed, type Context } from '../request/context.js';
import { builder } from './builder.js';
import { MAX_FIRST } from './connection.js';

/** The most ids one `nodes(ids:)` may ask for (the largest connection page); more is BAD_USER_INPUT before any call. */
export const MAX_NODE_IDS = MAX_FIRST;

/** The longest global id this gateway hands out is well under this; longer input is not decoded. */
const MAX_GLOBAL_ID_LENGTH = 128;

const ZSTACK_UUID = /^[0-9a-f]{32}$/;

/** The Node types and how each loads a batch of uuids, by type name. */
const nodeTypes = new Set<string>();

type Loaded<T> = readonly (T | null | Error)[];

/**
 * The Relay node options of a type identified by its ZStack uuid: its global id encodes the type
 * name and the uuid; `node`/`nodes` load it through `load`, which batches (a loader keeps key order,
 * null for an unknown uuid, the call's Error for every key of a failed call). Never rejects: a
 * failure is each key's Error, so one type's failed call costs only its own entries in `nodes`.
 */
export function uuidNode<T extends { uuid: string }>(
  typename: string,
  load: (uuids: string[], ctx: Context) => Promise<Loaded<T>>,
  /** The 32-hex key the global id encodes; the row's uuid unless given. */
  keyOf: (row: T) => string = (row) => row.uuid.toLowerCase(),
) {
  nodeTypes.add(typename);
  return {
    id: { resolve: keyOf },
    // An Error entry becomes that entry's field error; Pothos's loadMany type does not say so.
    loadMany: async (uuids: string[], ctx: Context): Promise<readonly (T | null)[]> => {
      let loaded: Loaded<T>;
      try {
        loaded = await load(uuids, ctx);
      } catch (err) {
        loaded = uuids.map(() => err as Error);
      }
      return loaded as readonly (T | null)[];
    },
  };
}

/** `load` for a type whose uuid lookups go through one of the request's loaders. */
export function byLoader<T>(loader: (ctx: Context) => DataLoader<string, T | null>) {
  return (uuids: string[], ctx: Context) => loader(ctx).loadMany(uuids);
}

/** The global id of a row of a Node type (what its `id` field answers). */
export function globalId(typename: string, uuid: string): string {
  return encodeGlobalID(typename, uuid.toLowerCase());
}

/**
 * A global id this gateway handed out, as its type and uuid; a BAD_USER_INPUT error for anything
 * else (not base64 of `Type:uuid`, a type that is not a Node, a uuid that is not a ZStack uuid, or
 * any other spelling of the same bytes), so an id is accepted in exactly one form.
 */
export function parseGlobalId(value: string, field: string): { typename: string; id: string } | GraphQLError {
  const malformed = () =>
    badInput(`${field} is not a global id from this gateway (an \`id\` field's value).`, field);
  if (value.length > MAX_GLOBAL_ID_LENGTH) return malformed();
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(value);
  } catch {
    return malformed();
  }
  if (!nodeTypes.has(decoded.typename) || !ZSTACK_UUID.test(decoded.id)) return malformed();
  if (encodeGlobalID(decoded.typename, decoded.id) !== value) return malformed();
  return decoded;
}

const Node = builder.nodeInterfaceRef();

builder.queryFields((t) => ({
  node: t.field({
    type: Node,
    nullable: true,
    description:
      'The object with this global id (Relay refetch). Null for an id ZStack does not know (or no longer shows this session); null with BAD_USER_INPUT for an id this gateway did not hand out. Lookups of one response are batched per type with every other lookup of that type.',
    args: {
      id: t.arg.id({ required: true, description: 'A global id: the `id` field of any Node.' }),
    },
    resolve: async (_root, args, ctx, info) => {
      authed(ctx);
      const parsed = parseGlobalId(args.id, 'id');
      if (parsed instanceof Error) throw parsed;
      const [node] = await resolveNodes(builder, ctx, info, [parsed]);
      return (await node) as never;
    },
  }),
  nodes: t.field({
    type: [Node],
    nullable: { list: false, items: true },
    description: `The objects with these global ids, in the order asked (at most ${MAX_NODE_IDS} ids). Each entry is null for an id ZStack does not know, or null with its own error: BAD_USER_INPUT for an id this gateway did not hand out, the upstream error when its lookup failed. Ids of one type are looked up together.`,
    args: {
      ids: t.arg.idList({
        required: true,
        description: `Global ids (the \`id\` field of any Node), at most ${MAX_NODE_IDS}.`,
      }),
    },
    resolve: async (_root, args, ctx, info) => {
      if (args.ids.length > MAX_NODE_IDS)
        throw badInput(`ids lists at most ${MAX_NODE_IDS} global ids (got ${args.ids.length}).`, 'ids');
      authed(ctx);
      const parsed = args.ids.map((id, i) => parseGlobalId(id, `ids[${i}]`));
      const found = await resolveNodes(
        builder,
        ctx,
        info,
        parsed.map((p) => (p instanceof Error ? null : p)),
      );
      // An Error as a list item is that item's field error (graphql-js and graphql-jit alike).
      return parsed.map((p, i) => (p instanceof Error ? p : found[i])) as never;
    },
  }),
}));
