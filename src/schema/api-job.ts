import { cleanErrorCode, codeForZStack, unauthenticated } from '../errors.js';
import type { Context } from '../request/context.js';
import { authed } from '../request/context.js';
import type { JobState } from '../zstack/client.js';
import { validateSession } from '../zstack/sessions.js';
import type { ApiErrorCode } from '../zstack/types.js';
import { builder } from './builder.js';
import { parseUuid } from './input.js';
import { uuidNode } from './node.js';
import { upstreamJson } from './scalars.js';
import { Ticket } from './ticket.js';

const ApiJobState = builder.enumType('ApiJobState', {
  description: 'Where a ZStack async job stands.',
  values: {
    RUNNING: { description: 'Still running: ask again later.' },
    SUCCEEDED: {
      description: 'Finished and succeeded; for a ticket write, `ticket` shows the ticket.',
    },
    FAILED: { description: 'Finished and failed; `error` says why.' },
    EXPIRED: {
      description:
        'ZStack no longer knows the job: finished results are kept for about 3 hours. Look at the resource itself.',
    },
  } as const,
});

interface ApiJobView {
  uuid: string;
  state: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED';
  /** The uuid of the ticket a succeeded ticket write returned. */
  ticketUuid: string | null;
  error: ApiErrorCode | null;
}

const ApiJobError = builder.objectRef<ApiErrorCode>('ApiJobError').implement({
  description: 'Why a job failed, in the same terms as GraphQL errors of a mutation.',
  fields: (t) => ({
    code: t.string({
      description:
        'The gateway error code (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, UPSTREAM_ERROR…).',
      resolve: (e) => codeForZStack(e.code),
    }),
    message: t.string({
      description: "A readable message: ZStack's description and details.",
      resolve: (e) => [e.description, e.details].filter(Boolean).join(': ') || e.code,
    }),
    zstack: t.field({
      type: 'JSON',
      description: "ZStack's whole ErrorCode, nested causes included.",
      resolve: (e) => upstreamJson(cleanErrorCode(e)),
    }),
  }),
});

/** The uuid of a ticket a job result carries (`{"inventory": TicketInventory}`), else null. */
function ticketUuidOf(result: unknown): string | null {
  const inventory = (result as { inventory?: Record<string, unknown> } | null)?.inventory;
  if (!inventory || typeof inventory !== 'object') return null;
  const looksLikeTicket =
    typeof inventory.uuid === 'string' && typeof inventory.name === 'string' && 'status' in inventory;
  return looksLikeTicket ? (inventory.uuid as string) : null;
}

const ApiJob = builder.nodeRef<ApiJobView>('ApiJob', uuidNode('ApiJob', loadJobs)).implement({
  description:
    "A ZStack async job, as named by a JOB_PENDING error (extensions.jobUuid): how a write that outlived the gateway's wait ended.",
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The job uuid.' }),
    state: t.field({ type: ApiJobState, description: 'Where the job stands.', resolve: (j) => j.state }),
    ticket: t.field({
      type: Ticket,
      nullable: true,
      description:
        "For a ticket write that succeeded: the ticket now, read with the caller's session (null if it cannot see it).",
      // Read again rather than taken from the job result: ZStack checks no session on job results,
      // so only a read under the caller's own session may show the ticket.
      resolve: (j, _args, ctx) => (j.ticketUuid ? ctx.loaders.ticketByUuid.load(j.ticketUuid) : null),
    }),
    error: t.field({
      type: ApiJobError,
      nullable: true,
      description:
        'For a job that failed: why. Only for the session whose write started the job (as this gateway remembers, for about 3 hours); any other session gets null here and sees only `state` and, as its own session reads it, `ticket`.',
      resolve: (j) => j.error,
    }),
  }),
});

/**
 * The jobs with these uuids, in key order, as the caller's session may see them: the session is
 * validated once (ZStack answers job queries without looking at it), then one call per job (ZStack
 * has no batch job query). A uuid ZStack does not know is EXPIRED: ZStack cannot tell the two apart.
 */
async function loadJobs(uuids: readonly string[], ctx: Context): Promise<(ApiJobView | Error)[]> {
  const opts = authed(ctx);
  if (!(await validateSession(ctx.client, opts.session, opts)))
    throw unauthenticated('The session is not valid.');
  return Promise.all(
    uuids.map(async (uuid) => {
      try {
        const job = view(uuid, await ctx.client.getJobState(uuid, opts));
        // ZStack shows any job to anyone: a failure's details (which may name another user's
        // resources) go only to the session that sent the write.
        return ctx.client.sentJob(uuid, opts.session) ? job : { ...job, error: null };
      } catch (err) {
        return err as Error;
      }
    }),
  );
}

function view(uuid: string, job: JobState): ApiJobView {
  switch (job.state) {
    case 'running':
      return { uuid, state: 'RUNNING', ticketUuid: null, error: null };
    case 'expired':
      return { uuid, state: 'EXPIRED', ticketUuid: null, error: null };
    case 'failed':
      return { uuid, state: 'FAILED', ticketUuid: null, error: job.error };
    case 'succeeded':
      return { uuid, state: 'SUCCEEDED', ticketUuid: ticketUuidOf(job.result), error: null };
  }
}

builder.queryField('apiJob', (t) =>
  t.field({
    type: ApiJob,
    nullable: true,
    description:
      "How a ZStack async job ended: use it after a mutation answered JOB_PENDING with extensions.jobUuid. Needs a valid session. Any session sees the state; a failure's `error` only goes to the session whose write started the job.",
    args: {
      uuid: t.arg.id({
        required: true,
        description: 'The job uuid (extensions.jobUuid of a JOB_PENDING error).',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const uuid = parseUuid(args.uuid, 'uuid');
      const [job] = await loadJobs([uuid], ctx);
      if (job instanceof Error || job === undefined) throw job;
      return job;
    },
  }),
);
