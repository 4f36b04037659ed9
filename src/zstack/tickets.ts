import type { CallOptions, ZStackClient } from './client.js';
import { ZStackHttpError } from './errors.js';
import type { QueryParams } from './query.js';
import { buildQuery } from './query.js';
import type {
  ApiArchiveTicket,
  ApiArchiveTicketStatusHistory,
  ApiInventoryReply,
  ApiQueryReply,
  ApiTicket,
  ApiTicketFlow,
  ApiTicketFlowCollection,
  ApiTicketRequest,
  ApiTicketStatusHistory,
  ApiTicketType,
} from './types.js';

export type ApiTicketStatusEvent = 'open' | 'approve' | 'cancel' | 'reject' | 'reopen';

interface Tags {
  systemTags?: string[];
  userTags?: string[];
}

/** Tags go at the top level of the body (the documented place); absent keys are omitted. */
function withTags(body: Record<string, unknown>, input: Tags): Record<string, unknown> {
  if (input.systemTags !== undefined) body.systemTags = input.systemTags;
  if (input.userTags !== undefined) body.userTags = input.userTags;
  return body;
}

function inventoryOf<T>(reply: ApiInventoryReply<T>, jobUuid: string | undefined): T {
  const inventory = reply?.inventory;
  if (inventory === undefined || inventory === null || typeof inventory !== 'object') {
    throw new ZStackHttpError(200, 'response has no inventory', jobUuid);
  }
  return inventory;
}

/** ChangeTicketStatus (async PUT); never retried. */
export async function changeTicketStatus(
  client: ZStackClient,
  input: { uuid: string; statusEvent: ApiTicketStatusEvent; comment?: string } & Tags,
  opts: CallOptions,
): Promise<ApiTicket> {
  const action: Record<string, unknown> = { statusEvent: input.statusEvent };
  if (input.comment !== undefined) action.comment = input.comment;
  const reply = await client.callAsync<ApiInventoryReply<ApiTicket>>(
    {
      method: 'PUT',
      path: `/tickets/${encodeURIComponent(input.uuid)}/actions`,
      body: withTags({ changeTicketStatus: action }, input),
    },
    opts,
  );
  return inventoryOf(reply, opts.jobUuid);
}

/** CreateTicket (async POST); never retried. */
export async function createTicket(
  client: ZStackClient,
  input: {
    name: string;
    description?: string;
    requests: ApiTicketRequest[];
    flowCollectionUuid?: string;
    accountSystemType: string;
    accountSystemContext: Record<string, unknown>;
  } & Tags,
  opts: CallOptions,
): Promise<ApiTicket> {
  const params: Record<string, unknown> = { name: input.name };
  if (input.description !== undefined) params.description = input.description;
  params.requests = input.requests;
  if (input.flowCollectionUuid !== undefined) params.flowCollectionUuid = input.flowCollectionUuid;
  params.accountSystemType = input.accountSystemType;
  params.accountSystemContext = input.accountSystemContext;
  const reply = await client.callAsync<ApiInventoryReply<ApiTicket>>(
    { method: 'POST', path: '/tickets', body: withTags({ params }, input) },
    opts,
  );
  return inventoryOf(reply, opts.jobUuid);
}

/** UpdateTicketRequest (async PUT on the shared actions path); never retried. */
export async function updateTicketRequest(
  client: ZStackClient,
  input: { uuid: string; requests: ApiTicketRequest[]; description?: string } & Tags,
  opts: CallOptions,
): Promise<ApiTicket> {
  const action: Record<string, unknown> = { requests: input.requests };
  if (input.description !== undefined) action.description = input.description;
  const reply = await client.callAsync<ApiInventoryReply<ApiTicket>>(
    {
      method: 'PUT',
      path: `/tickets/${encodeURIComponent(input.uuid)}/actions`,
      body: withTags({ updateTicketRequest: action }, input),
    },
    opts,
  );
  return inventoryOf(reply, opts.jobUuid);
}

/** DeleteTicket (async DELETE, Permissive); never retried. */
export async function deleteTicket(
  client: ZStackClient,
  input: { uuid: string },
  opts: CallOptions,
): Promise<void> {
  await client.callAsync<unknown>(
    { method: 'DELETE', path: `/tickets/${encodeURIComponent(input.uuid)}`, query: 'deleteMode=Permissive' },
    opts,
  );
}

async function query<T>(
  client: ZStackClient,
  path: string,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<T>> {
  // buildQuery may throw; inside an async function that becomes a rejection, like every other failure.
  return client.get<ApiQueryReply<T>>({ path, query: buildQuery(params) }, opts);
}

/** QueryTicket; throws QueryValueError before any call for a value ZStack would mis-parse. */
export function queryTickets(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiTicket>> {
  return query<ApiTicket>(client, '/tickets', params, opts);
}

/** QueryTicketHistory. */
export function queryTicketHistories(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiTicketStatusHistory>> {
  return query<ApiTicketStatusHistory>(client, '/tickets/histories', params, opts);
}

/** QueryTicketType. */
export function queryTicketTypes(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiTicketType>> {
  return query<ApiTicketType>(client, '/ticket-types', params, opts);
}

/** QueryTicketFlowCollection. */
export function queryTicketFlowCollections(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiTicketFlowCollection>> {
  return query<ApiTicketFlowCollection>(client, '/tickets/flow-collections', params, opts);
}

/** QueryTicketFlow: approval steps, also outside their collection. */
export function queryTicketFlows(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiTicketFlow>> {
  return query<ApiTicketFlow>(client, '/tickets/flow', params, opts);
}

/** QueryArchiveTicket: deleted tickets. */
export function queryArchiveTickets(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiArchiveTicket>> {
  return query<ApiArchiveTicket>(client, '/tickets/archives', params, opts);
}

/** QueryArchiveTicketHistory: the history rows of deleted tickets. */
export function queryArchiveTicketHistories(
  client: ZStackClient,
  params: QueryParams,
  opts: CallOptions,
): Promise<ApiQueryReply<ApiArchiveTicketStatusHistory>> {
  return query<ApiArchiveTicketStatusHistory>(client, '/tickets/histories/archives', params, opts);
}
