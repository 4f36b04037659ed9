import type { IncomingMessage } from 'node:http';
import {
  type Answer,
  groupHistories,
  mapTicket,
  orderTickets,
  STATUS_EVENTS,
  serveBench,
  sessionFrom,
  type Ticket,
  zstackFromEnv,
} from './peer-common.js';

/**
 * The floor: what answering the benchmark's operations costs with no GraphQL library at all. It
 * assumes the document (recognising it by a keyword), but does the real upstream calls and the real
 * mapping, so the gap between it and a GraphQL server is the price of GraphQL.
 */

const zstack = zstackFromEnv();

interface GraphQLBody {
  query?: string;
  variables?: {
    input?: { uuid?: string; statusEvent?: string; comment?: string; clientMutationId?: string };
  };
}

const ALIAS = /(\w+)\s*:\s*ticket\(uuid:\s*"([0-9a-fA-F]{32})"\)/g;

async function execute(body: GraphQLBody, session: string): Promise<unknown> {
  const query = body.query ?? '';
  if (query.includes('changeTicketStatus')) {
    const input = body.variables?.input ?? {};
    const event = STATUS_EVENTS[input.statusEvent ?? ''];
    if (!input.uuid || !/^[0-9a-fA-F]{32}$/.test(input.uuid) || event === undefined) {
      return { errors: [{ message: 'invalid input', extensions: { code: 'BAD_USER_INPUT' } }], data: null };
    }
    const ticket = await zstack.changeTicketStatus(session, input.uuid.toLowerCase(), event, input.comment);
    return {
      data: {
        changeTicketStatus: { ticket: mapTicket(ticket), clientMutationId: input.clientMutationId ?? null },
      },
    };
  }
  if (query.includes('tickets(')) {
    const first = Number(/tickets\(first:\s*(\d+)/.exec(query)?.[1] ?? 50);
    const tickets = (
      await zstack.queryTickets(session, new URLSearchParams({ limit: String(first), start: '0' }))
    ).map(mapTicket);
    const uuids = tickets.map((t) => t.uuid);
    const histories =
      uuids.length === 0 ? [] : groupHistories(uuids, await zstack.queryHistories(session, uuids));
    return {
      data: {
        tickets: {
          nodes: tickets.map((t, i) => ({
            uuid: t.uuid,
            name: t.name,
            status: t.status,
            createDate: t.createDate,
            history: (histories[i] ?? []).map((h) => ({
              uuid: h.uuid,
              fromStatus: h.fromStatus,
              toStatus: h.toStatus,
              comment: h.comment,
              createDate: h.createDate,
            })),
          })),
        },
      },
    };
  }
  const aliases = [...query.matchAll(ALIAS)].map((m) => ({
    alias: m[1] ?? '',
    uuid: (m[2] ?? '').toLowerCase(),
  }));
  const keys = [...new Set(aliases.map((a) => a.uuid))];
  const params = new URLSearchParams({ q: `uuid?=${keys.join(',')}`, limit: String(keys.length) });
  const found = orderTickets(keys, await zstack.queryTickets(session, params));
  const byUuid = new Map<string, Ticket | null>(keys.map((key, i) => [key, found[i] ?? null]));
  const data: Record<string, unknown> = {};
  for (const { alias, uuid } of aliases) {
    const t = byUuid.get(uuid);
    data[alias] = t ? { uuid: t.uuid, name: t.name, status: t.status } : null;
  }
  return { data };
}

async function answer(req: IncomingMessage, parsed: unknown): Promise<Answer> {
  const body = (parsed ?? {}) as GraphQLBody;
  const session = sessionFrom(req.headers.authorization);
  if (session === undefined) {
    return {
      status: 200,
      payload: { errors: [{ message: 'no session', extensions: { code: 'UNAUTHENTICATED' } }], data: null },
    };
  }
  try {
    return { status: 200, payload: await execute(body, session) };
  } catch (err) {
    return {
      status: 200,
      payload: {
        errors: [
          { message: err instanceof Error ? err.message : 'failed', extensions: { code: 'UPSTREAM_ERROR' } },
        ],
        data: null,
      },
    };
  }
}

serveBench('floor', 4001, answer, zstack);
