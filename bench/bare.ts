import type { IncomingMessage } from 'node:http';
import {
  buildSchema,
  type DocumentNode,
  type GraphQLObjectType,
  type GraphQLScalarType,
  type GraphQLSchema,
  parse,
  validate,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import {
  type Answer,
  type ApiTicketStatusHistory,
  groupHistories,
  mapTicket,
  orderTickets,
  PEER_TYPE_DEFS,
  serveBench,
  sessionFrom,
  type Ticket,
  type TicketStatusHistory,
  zstackFromEnv,
} from './peer-common.js';

/**
 * The ceiling of any GraphQL server here: the floor's HTTP handling and upstream calls (the same
 * undici client and mapping), with requests going through GraphQL: a graphql-js schema mirroring
 * what the bench documents select, each document parsed, validated and compiled with graphql-jit
 * once, then `JSON.stringify`. Nothing else: no logs, metrics, limits, masking, deadlines, request
 * ids or abort signals. The gateway's distance to it is what its own features cost.
 */

const zstack = zstackFromEnv();

/**
 * The least batching that makes the same upstream calls as the floor: keys asked for in one tick
 * go out in one call (graphql-jit resolves a list's items in one synchronous loop).
 */
class Batch<V> {
  private keys: string[] = [];
  private waiters: Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  constructor(private readonly load: (keys: string[]) => Promise<V[]>) {}
  get(key: string): Promise<V> {
    if (this.keys.length === 0) queueMicrotask(() => this.flush());
    this.keys.push(key);
    return new Promise<V>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  private flush(): void {
    const keys = this.keys;
    const waiters = this.waiters;
    this.keys = [];
    this.waiters = [];
    const unique = [...new Set(keys)];
    this.load(unique).then(
      (values) => {
        const byKey = new Map(unique.map((k, i) => [k, values[i] as V]));
        for (let i = 0; i < keys.length; i++) waiters[i]?.resolve(byKey.get(keys[i] as string) as V);
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }
}

const UUID = /^[0-9a-fA-F]{32}$/;

interface ChangeArgs {
  input: { uuid: string; statusEvent: string; comment?: string | null; clientMutationId?: string | null };
}

interface BareContext {
  session: string;
  tickets?: Batch<Ticket | null>;
  histories?: Batch<TicketStatusHistory[]>;
}

function schemaWithResolvers(): GraphQLSchema {
  const schema = buildSchema(PEER_TYPE_DEFS);
  // Values are ISO strings or plain JSON after mapping: the scalars pass them through.
  for (const name of ['DateTime', 'JSON']) {
    const scalar = schema.getType(name) as GraphQLScalarType;
    scalar.serialize = (v: unknown) => v;
    scalar.parseValue = (v: unknown) => v;
  }
  const query = schema.getQueryType()?.getFields();
  const mutation = schema.getMutationType()?.getFields();
  const ticket = (schema.getType('Ticket') as GraphQLObjectType).getFields();
  if (!query?.tickets || !query.ticket || !mutation?.changeTicketStatus || !ticket.history)
    throw new Error('PEER_TYPE_DEFS lost a field the bench documents select');
  query.tickets.resolve = async (_root, args: { first?: number | null }, ctx: BareContext) => ({
    nodes: (
      await zstack.queryTickets(
        ctx.session,
        new URLSearchParams({ limit: String(args.first ?? 50), start: '0' }),
      )
    ).map(mapTicket),
  });
  query.ticket.resolve = (_root, args: { uuid: string }, ctx: BareContext) => {
    if (!UUID.test(args.uuid)) throw new Error('uuid must be 32 hex characters');
    ctx.tickets ??= new Batch(async (uuids) =>
      orderTickets(
        uuids,
        await zstack.queryTickets(
          ctx.session,
          new URLSearchParams({ q: `uuid?=${uuids.join(',')}`, limit: String(uuids.length) }),
        ),
      ),
    );
    return ctx.tickets.get(args.uuid.toLowerCase());
  };
  mutation.changeTicketStatus.resolve = async (_root, { input }: ChangeArgs, ctx: BareContext) => {
    if (!UUID.test(input.uuid)) throw new Error('uuid must be 32 hex characters');
    const api = await zstack.changeTicketStatus(
      ctx.session,
      input.uuid.toLowerCase(),
      input.statusEvent.toLowerCase(),
      input.comment ?? undefined,
    );
    return { ticket: mapTicket(api), clientMutationId: input.clientMutationId ?? null };
  };
  ticket.history.resolve = (t: Ticket, _args, ctx: BareContext) => {
    ctx.histories ??= new Batch(async (uuids) =>
      groupHistories(uuids, (await zstack.queryHistories(ctx.session, uuids)) as ApiTicketStatusHistory[]),
    );
    return ctx.histories.get(t.uuid);
  };
  return schema;
}

const schema = schemaWithResolvers();
const MAX_DOCUMENTS = 1000;
const compiled = new Map<string, CompiledQuery>();

/** Parse, validate and compile once per document text and operation name. */
function compiledFor(
  query: string,
  operationName: string | undefined,
): CompiledQuery | { errors: readonly unknown[] } {
  const key = `${operationName ?? ''}\u0000${query}`;
  const known = compiled.get(key);
  if (known !== undefined) return known;
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (err) {
    return { errors: [{ message: (err as Error).message }] };
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return { errors };
  const result = compileQuery(schema, document, operationName);
  if (!isCompiledQuery(result)) return { errors: result.errors ?? [] };
  if (compiled.size < MAX_DOCUMENTS) compiled.set(key, result);
  return result;
}

interface GraphQLBody {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

async function answer(req: IncomingMessage, parsed: unknown): Promise<Answer> {
  const body = (parsed ?? {}) as GraphQLBody;
  if (typeof body.query !== 'string') return { status: 400, payload: { errors: [{ message: 'no query' }] } };
  const c = compiledFor(body.query, typeof body.operationName === 'string' ? body.operationName : undefined);
  if (!('query' in c)) return { status: 400, payload: c };
  const session = sessionFrom(req.headers.authorization);
  if (session === undefined)
    return { status: 200, payload: { errors: [{ message: 'no session' }], data: null } };
  const context: BareContext = { session };
  return { status: 200, payload: await c.query(undefined, context, body.variables as never) };
}

serveBench('bare', 4005, answer, zstack);
