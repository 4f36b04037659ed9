import type { IncomingMessage, ServerResponse } from 'node:http';
import {
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

function reply(res: ServerResponse, status: number, payload: unknown) {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/graphql-response+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'POST' || req.url !== '/graphql') {
    req.resume();
    reply(res, 404, { errors: [{ message: 'not found' }] });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: GraphQLBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLBody;
    } catch {
      reply(res, 400, { errors: [{ message: 'body is not JSON' }] });
      return;
    }
    const session = sessionFrom(req.headers.authorization);
    if (session === undefined) {
      reply(res, 200, {
        errors: [{ message: 'no session', extensions: { code: 'UNAUTHENTICATED' } }],
        data: null,
      });
      return;
    }
    execute(body, session).then(
      (payload) => reply(res, 200, payload),
      (err: unknown) =>
        reply(res, 200, {
          errors: [
            {
              message: err instanceof Error ? err.message : 'failed',
              extensions: { code: 'UPSTREAM_ERROR' },
            },
          ],
          data: null,
        }),
    );
  });
}

serveBench('floor', 4001, handle, zstack);
