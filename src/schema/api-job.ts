import { authed } from '../context.js';
import { cleanErrorCode, codeForZStack } from '../errors.js';
import type { JobState } from '../zstack/client.js';
import type { ApiErrorCode, ApiTicket } from '../zstack/types.js';
import { builder } from './builder.js';
import { parseUuid } from './input.js';
import { Ticket } from './ticket.js';

const ApiJobState = builder.enumType('ApiJobState', {
  description: 'Where a ZStack async job stands.',
  values: {
    RUNNING: { description: 'Still running: ask again later.' },
    SUCCEEDED: {
      description: 'Finished and succeeded; `result` (and `ticket` for ticket writes) hold the outcome.',
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
  result: Record<string, unknown> | null;
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
      resolve: (e) => cleanErrorCode(e),
    }),
  }),
});

function looksLikeTicket(value: unknown): value is ApiTicket {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.uuid === 'string' && typeof v.name === 'string' && 'status' in v;
}

const ApiJob = builder.objectRef<ApiJobView>('ApiJob').implement({
  description:
    "A ZStack async job, as named by a JOB_PENDING error (extensions.jobUuid): how a write that outlived the gateway's wait ended.",
  fields: (t) => ({
    uuid: t.exposeID('uuid', { description: 'The job uuid.' }),
    state: t.field({ type: ApiJobState, description: 'Where the job stands.', resolve: (j) => j.state }),
    ticket: t.field({
      type: Ticket,
      nullable: true,
      description: 'For a ticket write that succeeded: the ticket as the job left it.',
      resolve: (j) => (looksLikeTicket(j.result?.inventory) ? j.result.inventory : null),
    }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'For a job that succeeded: its result as ZStack sent it (dates as ZStack renders them).',
      resolve: (j) => j.result,
    }),
    error: t.field({
      type: ApiJobError,
      nullable: true,
      description: 'For a job that failed: why.',
      resolve: (j) => j.error,
    }),
  }),
});

function view(uuid: string, job: JobState): ApiJobView {
  switch (job.state) {
    case 'running':
      return { uuid, state: 'RUNNING', result: null, error: null };
    case 'expired':
      return { uuid, state: 'EXPIRED', result: null, error: null };
    case 'failed':
      return { uuid, state: 'FAILED', result: null, error: job.error };
    case 'succeeded': {
      const result =
        job.result && typeof job.result === 'object' ? { ...(job.result as Record<string, unknown>) } : {};
      delete result.schema;
      return { uuid, state: 'SUCCEEDED', result, error: null };
    }
  }
}

builder.queryField('apiJob', (t) =>
  t.field({
    type: ApiJob,
    description:
      'How a ZStack async job ended: use it after a mutation answered JOB_PENDING with extensions.jobUuid. Needs a session.',
    args: {
      uuid: t.arg.id({
        required: true,
        description: 'The job uuid (extensions.jobUuid of a JOB_PENDING error).',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const uuid = parseUuid(args.uuid, 'uuid');
      const opts = authed(ctx);
      const [job] = await Promise.all([ctx.client.getJob(uuid, opts), ctx.timeZone.ensure(opts.session)]);
      return view(uuid, job);
    },
  }),
);
