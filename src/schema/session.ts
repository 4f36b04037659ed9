import { createHash } from 'node:crypto';
import { badInput } from '../errors.js';
import { authed, type Context, callOptions } from '../request/context.js';
import type { LoginAttempt } from '../request/login-limit.js';
import { ZStackApiError } from '../zstack/errors.js';
import {
  logInByAccount,
  logInByUser,
  logInIAM2VirtualId,
  logOut,
  validateSession,
} from '../zstack/sessions.js';
import type { ApiSession } from '../zstack/types.js';
import { builder } from './builder.js';
import { uuidNode } from './node.js';
import { resolveDate } from './values.js';

/**
 * The key a session's global id encodes: a one-way digest of its uuid (128 bits of SHA-256), not the
 * uuid itself, which is the bearer token: an id ends up in client caches, logs and URLs.
 */
function sessionKey(session: ApiSession): string {
  return createHash('sha256').update(session.uuid.toLowerCase()).digest('hex').slice(0, 32);
}

/** Node lookups of sessions: only the caller's own, while ZStack says it is valid; any other is null. */
async function loadSessions(keys: readonly string[], ctx: Context): Promise<(ApiSession | null)[]> {
  const opts = authed(ctx);
  const own = { uuid: opts.session };
  if (!keys.includes(sessionKey(own))) return keys.map(() => null);
  const valid = await validateSession(ctx.client, opts.session, opts);
  return keys.map((key) => (valid && key === sessionKey(own) ? own : null));
}

const SessionNode = builder.nodeRef<ApiSession>('Session', uuidNode('Session', loadSessions, sessionKey));

export const Session = SessionNode.implement({
  description:
    "A ZStack session. Send its uuid as `Authorization: OAuth <uuid>` (or Bearer) on every request. Its `id` is a digest of the uuid, not the token: `node(id:)` finds only the caller's own valid session.",
  fields: (t) => ({
    uuid: t.exposeID('uuid', {
      description: 'The session uuid: the token to send in the Authorization header.',
    }),
    accountUuid: t.string({
      description: 'The account the session belongs to.',
      nullable: true,
      resolve: (s) => s.accountUuid ?? null,
    }),
    userUuid: t.string({
      description: 'The user (or, for an account login, the account itself) the session belongs to.',
      nullable: true,
      resolve: (s) => s.userUuid ?? null,
    }),
    expiredDate: t.field({
      type: 'DateTime',
      description: 'When the session expires unless used again (every call slides it forward).',
      nullable: true,
      resolve: (s, _a, ctx) => resolveDate(s.expiredDate, ctx),
    }),
    createDate: t.field({
      type: 'DateTime',
      description: 'When the session was created.',
      nullable: true,
      resolve: (s, _a, ctx) => resolveDate(s.createDate, ctx),
    }),
  }),
});

const LogInKind = builder.enumType('LogInKind', {
  description: 'Which ZStack login API to use.',
  values: {
    ACCOUNT: { description: 'LogInByAccount: accountName and password.' },
    USER: { description: 'LogInByUser: accountName, userName and password.' },
    IAM2_VIRTUAL_ID: { description: 'LoginIAM2VirtualID: virtualIdName and password.' },
  } as const,
});

const LogInInput = builder.inputType('LogInInput', {
  description:
    'Credentials for logIn. The password travels in plain text (use TLS); the gateway sends ZStack its SHA-512 hex.',
  fields: (t) => ({
    kind: t.field({
      type: LogInKind,
      required: true,
      defaultValue: 'ACCOUNT',
      description: 'Which login API to use.',
    }),
    accountName: t.string({ description: 'The account name (ACCOUNT and USER).' }),
    userName: t.string({ description: 'The user name inside the account (USER).' }),
    virtualIdName: t.string({ description: 'The IAM2 virtual ID name (IAM2_VIRTUAL_ID).' }),
    password: t.string({ required: true, description: 'The plain-text password.' }),
  }),
});

const LogInPayload = builder.objectRef<{ session: ApiSession }>('LogInPayload').implement({
  description: 'Result of logIn.',
  fields: (t) => ({
    session: t.field({ type: Session, description: 'The new session.', resolve: (p) => p.session }),
  }),
});

const LogOutPayload = builder.objectRef<{ loggedOut: boolean }>('LogOutPayload').implement({
  description: 'Result of logOut.',
  fields: (t) => ({
    loggedOut: t.boolean({
      description: 'True once ZStack has ended the session.',
      resolve: (p) => p.loggedOut,
    }),
  }),
});

function required(value: string | null | undefined, field: string, kind: string): string {
  if (!value) throw badInput(`${field} is required for a ${kind} login.`, field);
  return value;
}

builder.mutationField('logIn', (t) =>
  t.field({
    type: LogInPayload,
    nullable: true,
    description:
      'Log in to ZStack by account, user or IAM2 virtual ID and get a session. Needs no session. Throttled per client address and per account name (`RATE_LIMITED` with `retryAfterSeconds`).',
    args: { input: t.arg({ type: LogInInput, required: true, description: 'The credentials.' }) },
    resolve: async (_root, { input }, ctx) => {
      const opts = callOptions(ctx);
      // Every field is checked, then the throttle counts the attempt, before any upstream call.
      let call: () => Promise<ApiSession>;
      let account: string;
      if (input.kind === 'USER') {
        const accountName = required(input.accountName, 'accountName', 'USER');
        const userName = required(input.userName, 'userName', 'USER');
        account = `USER\n${accountName}\n${userName}`;
        call = () => logInByUser(ctx.client, { accountName, userName, password: input.password }, opts);
      } else if (input.kind === 'IAM2_VIRTUAL_ID') {
        const name = required(input.virtualIdName, 'virtualIdName', 'IAM2_VIRTUAL_ID');
        account = `IAM2_VIRTUAL_ID\n${name}`;
        call = () => logInIAM2VirtualId(ctx.client, { name, password: input.password }, opts);
      } else {
        const accountName = required(input.accountName, 'accountName', 'ACCOUNT');
        account = `ACCOUNT\n${accountName}`;
        call = () => logInByAccount(ctx.client, { accountName, password: input.password }, opts);
      }
      const attempt: LoginAttempt | undefined = await ctx.logins?.begin(ctx.caller.address, account);
      let session: ApiSession;
      try {
        session = await call();
      } catch (err) {
        // ZStack answered with an ErrorCode (wrong credentials): a failure of this account.
        attempt?.settle(err instanceof ZStackApiError);
        throw err;
      }
      attempt?.settle(false);
      await ctx.timeZone.ensure(session.uuid);
      // The feed counts this session's streams against its account's cap.
      ctx.feed.noteAccount(session.uuid.toLowerCase(), session.accountUuid);
      return { session };
    },
  }),
);

builder.mutationField('logOut', (t) =>
  t.field({
    type: LogOutPayload,
    nullable: true,
    description: "Log out the caller's session (ZStack LogOut).",
    resolve: async (_root, _args, ctx) => {
      const opts = authed(ctx);
      await logOut(ctx.client, opts.session, opts);
      ctx.feed.forgetSession(opts.session);
      return { loggedOut: true };
    },
  }),
);

builder.queryField('session', (t) =>
  t.field({
    type: Session,
    nullable: true,
    description:
      "The caller's session if ZStack says it is valid (ValidateSession), else null. Only uuid is known this way; the other fields are null.",
    resolve: async (_root, _args, ctx) => {
      if (!ctx.session) return null;
      const valid = await validateSession(ctx.client, ctx.session, callOptions(ctx));
      return valid ? { uuid: ctx.session } : null;
    },
  }),
);
