import type { ObjectRef } from '@pothos/core';
import type DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { badInput, unrepresentable } from '../errors.js';
import { authed, type Context } from '../request/context.js';
import type { CallOptions, ZStackClient } from '../zstack/client.js';
import type { QueryParams } from '../zstack/query.js';
import { builder } from './builder.js';
import { connectionSelection } from './selection.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The most rows one connection page may ask for. */
export const MAX_FIRST = 500;
export const DEFAULT_FIRST = 50;
/** ZStack reads `start` and `limit` as Java ints. */
const MAX_OFFSET = 2 ** 31 - 2;

/** One page of rows read with ZStack's offset paging (`start`, `limit = first + 1`). */
export interface Page<T> {
  rows: T[];
  /** The offset of rows[0]. */
  start: number;
  hasNextPage: boolean;
  /** ZStack's `total`, present only when `replyWithCount` was sent. */
  total: number | undefined;
}

const CURSOR_PREFIX = 'offset:';

/** An opaque cursor: base64url of the row's offset. Clients must not build or read it. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`, 'utf8').toString('base64url');
}

/** The offset a cursor points at; BAD_USER_INPUT for anything this gateway did not hand out. */
export function decodeCursor(cursor: string, field = 'after'): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^offset:(0|[1-9]\d{0,9})$/.exec(text);
  const offset = match ? Number(match[1]) : Number.NaN;
  // base64url decoding is lenient; only the exact encoding we produce is accepted.
  if (!Number.isSafeInteger(offset) || offset > MAX_OFFSET || encodeCursor(offset) !== cursor) {
    throw badInput(`${field} is not a cursor from this connection.`, field);
  }
  return offset;
}

/** `first` and `after` as ZStack's `limit` (one extra row tells whether a next page exists) and `start`. */
export function pageWindow(
  first: number | null | undefined,
  after: string | null | undefined,
): { first: number; start: number; limit: number } {
  const n = first ?? DEFAULT_FIRST;
  if (!Number.isInteger(n) || n < 0 || n > MAX_FIRST) {
    throw badInput(`first must be between 0 and ${MAX_FIRST} (got ${n}).`, 'first');
  }
  const start = after === null || after === undefined ? 0 : decodeCursor(after) + 1;
  return { first: n, start, limit: n + 1 };
}

/** Cuts the extra row off a reply read with `pageWindow`'s limit. */
export function toPage<T>(
  window: { first: number; start: number },
  reply: { inventories?: T[]; total?: number },
): Page<T> {
  const all = reply.inventories ?? [];
  return {
    rows: all.slice(0, window.first),
    start: window.start,
    hasNextPage: all.length > window.first,
    total: reply.total,
  };
}

/**
 * One page of an unfiltered ZStack list: the total asked for only when `totalCount` is selected,
 * and every row primed into `loader` so relations to it in the same response cost no call.
 */
export async function listPage<T extends { uuid: string }>(
  ctx: Context,
  info: GraphQLResolveInfo,
  typeName: string,
  args: { first?: number | null; after?: string | null },
  query: (
    client: ZStackClient,
    params: QueryParams,
    opts: CallOptions,
  ) => Promise<{ inventories?: T[]; total?: number }>,
  loader: DataLoader<string, T | null>,
): Promise<Page<T>> {
  const window = pageWindow(args.first, args.after);
  const opts = authed(ctx);
  const { totalCount } = connectionSelection(info, typeName, typeName);
  const reply = await query(
    ctx.client,
    { limit: window.limit, start: window.start, replyWithCount: totalCount },
    opts,
  );
  const page = toPage(window, reply);
  for (const row of page.rows) loader.prime(row.uuid, row);
  return page;
}

export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const PageInfo = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description: 'Relay page information of a connection page.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      description: 'True when more rows follow this page (ask again with after: endCursor).',
    }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      description: 'True when rows come before this page (the page did not start at the first row).',
    }),
    startCursor: t.exposeString('startCursor', {
      nullable: true,
      description: 'The cursor of the first row of this page; null when the page is empty.',
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: 'The cursor of the last row of this page; null when the page is empty.',
    }),
  }),
});

/**
 * Defines `<Name>Edge` and `<Name>Connection` (Relay) over a `Page` of `node`s. `noun` reads in
 * descriptions ("ticket types").
 */
export function connectionType<T>(name: string, node: ObjectRef<Types, T>, noun: string) {
  const Edge = builder.objectRef<{ node: T; cursor: string }>(`${name}Edge`).implement({
    description: `One of the ${noun} of a page, with its cursor.`,
    fields: (t) => ({
      cursor: t.exposeString('cursor', {
        description: 'An opaque cursor: pass it as `after` to read the rows that follow this one.',
      }),
      node: t.field({
        type: node,
        description: `The ${noun.replace(/s$/, '')}.`,
        resolve: (e) => e.node as never,
      }),
    }),
  });

  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    description: `A page of ${noun} (Relay connection over ZStack's offset paging).`,
    fields: (t) => ({
      edges: t.field({
        type: [Edge],
        description: `The ${noun} of this page with their cursors.`,
        resolve: (p) => p.rows.map((row, i) => ({ node: row, cursor: encodeCursor(p.start + i) })),
      }),
      nodes: t.field({
        type: [node],
        description: `The ${noun} of this page, without cursors.`,
        resolve: (p) => p.rows,
      }),
      pageInfo: t.field({
        type: PageInfo,
        description: 'Where this page stands in the whole list.',
        resolve: (p) => ({
          hasNextPage: p.hasNextPage,
          hasPreviousPage: p.start > 0,
          startCursor: p.rows.length > 0 ? encodeCursor(p.start) : null,
          endCursor: p.rows.length > 0 ? encodeCursor(p.start + p.rows.length - 1) : null,
        }),
      }),
      totalCount: t.int({
        description:
          'How many rows match in all pages. Asked of ZStack (replyWithCount) only when this field is selected.',
        resolve: (p) => {
          if (p.total === undefined || !Number.isInteger(p.total)) {
            throw unrepresentable('ZStack did not return the total count.');
          }
          return p.total;
        },
      }),
    }),
  });
}
