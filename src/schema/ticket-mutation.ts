import { badInput, requestTooLarge } from '../errors.js';
import { authed, type Context } from '../request/context.js';
import { idempotentJobUuid } from '../request/idempotency.js';
import type { CallOptions } from '../zstack/client.js';
import { jsonTextExceeds } from '../zstack/request-size.js';
import { changeTicketStatus, createTicket, deleteTicket, updateTicketRequest } from '../zstack/tickets.js';
import type { ApiTicket, ApiTicketRequest } from '../zstack/types.js';
import { builder } from './builder.js';
import { checkLength, checkTags, parseUuid } from './input.js';
import { Ticket } from './ticket.js';
import { TicketStatusEvent } from './values.js';

const MAX_NAME = 255;
const MAX_DESCRIPTION = 2048;

const TicketRequestInput = builder.inputType('TicketRequestInput', {
  description: 'One API call a ticket asks to run on final approval (ZStack TicketRequest).',
  fields: (t) => ({
    requestName: t.string({ description: 'A name for the request, shown to approvers.' }),
    apiName: t.string({
      required: true,
      description: 'The ZStack API message class to run, e.g. org.zstack.header.vm.APICreateVmInstanceMsg.',
    }),
    executeTimes: t.int({
      defaultValue: 1,
      description: 'How many times to run the API on final approval (at least 1).',
    }),
    apiBody: t.field({
      type: 'JSON',
      description: 'The body of the API call: a JSON object of the API message fields.',
    }),
  }),
});

type TicketRequestArg = {
  requestName?: string | null;
  apiName: string;
  executeTimes?: number | null;
  apiBody?: unknown;
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Requests as ZStack takes them; refused before any call when empty or malformed. */
function toRequests(requests: readonly TicketRequestArg[], field: string): ApiTicketRequest[] {
  if (requests.length === 0) throw badInput(`${field} must list at least one request.`, field);
  return requests.map((r, i) => {
    const out: ApiTicketRequest = {};
    const requestName = checkLength(r.requestName, MAX_NAME, `${field}[${i}].requestName`);
    if (requestName !== undefined) out.requestName = requestName;
    if (r.apiName.length === 0)
      throw badInput(`${field}[${i}].apiName must not be empty.`, `${field}[${i}].apiName`);
    out.apiName = r.apiName;
    const times = r.executeTimes ?? 1;
    if (times < 1)
      throw badInput(`${field}[${i}].executeTimes must be at least 1.`, `${field}[${i}].executeTimes`);
    out.executeTimes = times;
    if (r.apiBody !== null && r.apiBody !== undefined) {
      if (!isObject(r.apiBody))
        throw badInput(`${field}[${i}].apiBody must be a JSON object.`, `${field}[${i}].apiBody`);
      out.apiBody = r.apiBody;
    }
    return out;
  });
}

/** Shared by every ticket write payload: the ticket as ZStack returned it, and the Relay echo. */
function ticketPayload(name: string, verb: string) {
  return builder.objectRef<{ ticket: ApiTicket; clientMutationId: string | null }>(name).implement({
    description: `Result of ${verb}.`,
    fields: (t) => ({
      ticket: t.field({
        type: Ticket,
        description: 'The ticket as ZStack returned it.',
        resolve: (p) => p.ticket,
      }),
      clientMutationId: t.string({
        nullable: true,
        description: 'The clientMutationId of the input.',
        resolve: (p) => p.clientMutationId,
      }),
    }),
  });
}

/**
 * A write changed the ticket: later loads in this request must not see the old one, and live
 * subscribers hear of it at once.
 */
function wrote(ctx: Context, session: string, uuid: string, fresh?: ApiTicket): void {
  ctx.loaders.forgetTicket(uuid);
  if (fresh) {
    ctx.loaders.ticketByUuid.prime(uuid, fresh);
    ctx.feed.publish(session, fresh);
  }
}

const MAX_IDEMPOTENCY_KEY = 255;

/** The `idempotencyKey` input field every ticket write has. */
const idempotencyKeyField = {
  description:
    'Makes the write safe to replay: the same key and input from the same session is sent to ZStack with the same job id, so a replay (e.g. after a lost answer) returns the first result instead of acting twice. ZStack forgets finished jobs after about 3 hours. Not clientMutationId, which Relay clients reuse.',
} as const;

/**
 * Refuses an input whose upstream body would pass ZSTACK_MAX_REQUEST_BYTES, counting every reference
 * to a variable at its full size (one 256 KiB value listed 200 times is 50 MiB), before it is hashed
 * or serialized: the count stops at the ceiling.
 */
function checkUpstreamSize(ctx: Context, upstreamInput: unknown): void {
  if (jsonTextExceeds(upstreamInput, ctx.maxRequestBytes)) throw requestTooLarge(ctx.maxRequestBytes);
}

/**
 * Call options of a ticket write: the caller's session and, with an idempotency key, the job uuid
 * derived from the session, mutation, key and the exact upstream input. Refused before any call
 * without a session.
 */
function writeOptions(
  ctx: Context,
  mutation: string,
  key: string | null | undefined,
  upstreamInput: unknown,
): CallOptions & { session: string } {
  const opts = authed(ctx);
  checkUpstreamSize(ctx, upstreamInput);
  if (key === null || key === undefined) return opts;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
    throw badInput(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY} characters.`, 'idempotencyKey');
  }
  return { ...opts, jobUuid: idempotentJobUuid(opts.session, mutation, key, upstreamInput) };
}

const CreateTicketInput = builder.inputType('CreateTicketInput', {
  description: 'Input of createTicket (ZStack CreateTicket).',
  fields: (t) => ({
    name: t.string({ required: true, description: `The ticket name (at most ${MAX_NAME} characters).` }),
    description: t.string({ description: `The description (at most ${MAX_DESCRIPTION} characters).` }),
    requests: t.field({
      type: [TicketRequestInput],
      required: true,
      description: 'The API calls to run on final approval; at least one.',
    }),
    flowCollectionUuid: t.id({
      description: 'The flow collection (approval chain) to go through; the default collection when omitted.',
    }),
    accountSystemType: t.string({
      required: true,
      description: 'The account system of the submitter, e.g. iam2.',
    }),
    accountSystemContext: t.field({
      type: 'JSON',
      required: true,
      description:
        'Who submits, in the terms of the account system: for iam2 {"projectUuid", "virtualIDUuid"}.',
    }),
    systemTags: t.stringList({ description: 'ZStack system tags for the call; no empty strings.' }),
    userTags: t.stringList({ description: 'ZStack user tags for the call; no empty strings.' }),
    idempotencyKey: t.string(idempotencyKeyField),
    clientMutationId: t.string({ description: 'Relay: echoed back unchanged in the payload.' }),
  }),
});

const CreateTicketPayload = ticketPayload('CreateTicketPayload', 'createTicket');

builder.mutationField('createTicket', (t) =>
  t.field({
    type: CreateTicketPayload,
    nullable: true,
    description:
      "Submit a ticket (ZStack CreateTicket); it starts Pending at the first flow. Waits for ZStack's job; JOB_PENDING with extensions.jobUuid if it outlives the job timeout.",
    args: { input: t.arg({ type: CreateTicketInput, required: true, description: 'The ticket to submit.' }) },
    resolve: async (_root, { input }, ctx) => {
      const name = checkLength(input.name, MAX_NAME, 'name') as string;
      const description = checkLength(input.description, MAX_DESCRIPTION, 'description');
      const requests = toRequests(input.requests, 'requests');
      const flowCollectionUuid =
        input.flowCollectionUuid === null || input.flowCollectionUuid === undefined
          ? undefined
          : parseUuid(input.flowCollectionUuid, 'flowCollectionUuid');
      if (input.accountSystemType.length === 0)
        throw badInput('accountSystemType must not be empty.', 'accountSystemType');
      const accountSystemContext = input.accountSystemContext;
      if (!isObject(accountSystemContext)) {
        throw badInput('accountSystemContext must be a JSON object.', 'accountSystemContext');
      }
      const upstream = {
        name,
        description,
        requests,
        flowCollectionUuid,
        accountSystemType: input.accountSystemType,
        accountSystemContext,
        systemTags: checkTags(input.systemTags, 'systemTags'),
        userTags: checkTags(input.userTags, 'userTags'),
      };
      const opts = writeOptions(ctx, 'createTicket', input.idempotencyKey, upstream);
      const zone = ctx.timeZone.ensure(opts.session);
      const ticket = await createTicket(ctx.client, upstream, opts);
      // Known zones come back as a string: no await (a promise and a tick) per mutation.
      if (typeof zone !== 'string') await zone;
      wrote(ctx, opts.session, ticket.uuid, ticket);
      return { ticket, clientMutationId: input.clientMutationId ?? null };
    },
  }),
);

const UpdateTicketRequestInput = builder.inputType('UpdateTicketRequestInput', {
  description: 'Input of updateTicketRequest (ZStack UpdateTicketRequest).',
  fields: (t) => ({
    uuid: t.id({
      required: true,
      description: 'The ticket uuid (32 hex characters; upper case is accepted).',
    }),
    requests: t.field({
      type: [TicketRequestInput],
      required: true,
      description: "The new API calls; they replace the ticket's requests. At least one.",
    }),
    description: t.string({ description: `A new description (at most ${MAX_DESCRIPTION} characters).` }),
    systemTags: t.stringList({ description: 'ZStack system tags for the call; no empty strings.' }),
    userTags: t.stringList({ description: 'ZStack user tags for the call; no empty strings.' }),
    idempotencyKey: t.string(idempotencyKeyField),
    clientMutationId: t.string({ description: 'Relay: echoed back unchanged in the payload.' }),
  }),
});

const UpdateTicketRequestPayload = ticketPayload('UpdateTicketRequestPayload', 'updateTicketRequest');

builder.mutationField('updateTicketRequest', (t) =>
  t.field({
    type: UpdateTicketRequestPayload,
    nullable: true,
    description:
      "Replace a ticket's requests, e.g. after a rejection (ZStack UpdateTicketRequest); by its submitter or an admin. Waits for ZStack's job; JOB_PENDING with extensions.jobUuid if it outlives the job timeout.",
    args: {
      input: t.arg({ type: UpdateTicketRequestInput, required: true, description: 'What to change.' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const uuid = parseUuid(input.uuid, 'uuid');
      const requests = toRequests(input.requests, 'requests');
      const description = checkLength(input.description, MAX_DESCRIPTION, 'description');
      const upstream = {
        uuid,
        requests,
        description,
        systemTags: checkTags(input.systemTags, 'systemTags'),
        userTags: checkTags(input.userTags, 'userTags'),
      };
      const opts = writeOptions(ctx, 'updateTicketRequest', input.idempotencyKey, upstream);
      const zone = ctx.timeZone.ensure(opts.session);
      const ticket = await updateTicketRequest(ctx.client, upstream, opts);
      // Known zones come back as a string: no await (a promise and a tick) per mutation.
      if (typeof zone !== 'string') await zone;
      wrote(ctx, opts.session, uuid, ticket);
      return { ticket, clientMutationId: input.clientMutationId ?? null };
    },
  }),
);

const DeleteTicketInput = builder.inputType('DeleteTicketInput', {
  description: 'Input of deleteTicket (ZStack DeleteTicket).',
  fields: (t) => ({
    uuid: t.id({
      required: true,
      description: 'The ticket uuid (32 hex characters; upper case is accepted).',
    }),
    idempotencyKey: t.string(idempotencyKeyField),
    clientMutationId: t.string({ description: 'Relay: echoed back unchanged in the payload.' }),
  }),
});

const DeleteTicketPayload = builder
  .objectRef<{ deletedTicketUuid: string; clientMutationId: string | null }>('DeleteTicketPayload')
  .implement({
    description: 'Result of deleteTicket.',
    fields: (t) => ({
      deletedTicketUuid: t.exposeID('deletedTicketUuid', {
        description: 'The uuid of the deleted ticket (ZStack moved it and its history to the archives).',
      }),
      clientMutationId: t.string({
        nullable: true,
        description: 'The clientMutationId of the input.',
        resolve: (p) => p.clientMutationId,
      }),
    }),
  });

builder.mutationField('deleteTicket', (t) =>
  t.field({
    type: DeleteTicketPayload,
    nullable: true,
    description:
      "Delete a ticket (ZStack DeleteTicket, permissive mode); by its submitter or an admin. Waits for ZStack's job; JOB_PENDING with extensions.jobUuid if it outlives the job timeout.",
    args: { input: t.arg({ type: DeleteTicketInput, required: true, description: 'The ticket to delete.' }) },
    resolve: async (_root, { input }, ctx) => {
      const uuid = parseUuid(input.uuid, 'uuid');
      const opts = writeOptions(ctx, 'deleteTicket', input.idempotencyKey, { uuid });
      await deleteTicket(ctx.client, { uuid }, opts);
      wrote(ctx, opts.session, uuid);
      return { deletedTicketUuid: uuid, clientMutationId: input.clientMutationId ?? null };
    },
  }),
);

const ChangeTicketStatusInput = builder.inputType('ChangeTicketStatusInput', {
  description: 'Input of changeTicketStatus (ZStack ChangeTicketStatus).',
  fields: (t) => ({
    uuid: t.id({
      required: true,
      description: 'The ticket uuid (32 hex characters; upper case is accepted).',
    }),
    statusEvent: t.field({ type: TicketStatusEvent, required: true, description: 'The event to apply.' }),
    comment: t.string({
      description: 'A comment recorded in the ticket history (at most 65535 characters).',
    }),
    systemTags: t.stringList({ description: 'ZStack system tags for the call; no empty strings.' }),
    userTags: t.stringList({ description: 'ZStack user tags for the call; no empty strings.' }),
    idempotencyKey: t.string(idempotencyKeyField),
    clientMutationId: t.string({ description: 'Relay: echoed back unchanged in the payload.' }),
  }),
});

const ChangeTicketStatusPayload = ticketPayload('ChangeTicketStatusPayload', 'changeTicketStatus');

builder.mutationField('changeTicketStatus', (t) =>
  t.field({
    type: ChangeTicketStatusPayload,
    nullable: true,
    description:
      "Approve, reject, cancel, reopen or open a ticket (ZStack ChangeTicketStatus). Waits for ZStack's job; JOB_PENDING with extensions.jobUuid if it outlives the job timeout.",
    args: { input: t.arg({ type: ChangeTicketStatusInput, required: true, description: 'What to change.' }) },
    resolve: async (_root, { input }, ctx) => {
      const upstream = {
        uuid: parseUuid(input.uuid, 'uuid'),
        statusEvent: input.statusEvent,
        comment: checkLength(input.comment, 65535, 'comment'),
        systemTags: checkTags(input.systemTags, 'systemTags'),
        userTags: checkTags(input.userTags, 'userTags'),
      };
      const opts = writeOptions(ctx, 'changeTicketStatus', input.idempotencyKey, upstream);
      const zone = ctx.timeZone.ensure(opts.session);
      const ticket = await changeTicketStatus(ctx.client, upstream, opts);
      // Known zones come back as a string: no await (a promise and a tick) per mutation.
      if (typeof zone !== 'string') await zone;
      wrote(ctx, opts.session, upstream.uuid, ticket);
      return { ticket, clientMutationId: input.clientMutationId ?? null };
    },
  }),
);
