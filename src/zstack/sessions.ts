import { createHash } from 'node:crypto';
import type { CallOptions, ZStackClient } from './client.js';
import { ZStackHttpError } from './errors.js';
import type { ApiInventoryReply, ApiSession } from './types.js';

/** ZStack stores and compares the lowercase hex SHA-512 of the password, never the plain text. */
export function hashPassword(plain: string): string {
  return createHash('sha512').update(plain, 'utf8').digest('hex');
}

function sessionOf(reply: ApiInventoryReply<ApiSession>): ApiSession {
  const inventory = reply?.inventory;
  if (inventory === undefined || inventory === null || typeof inventory.uuid !== 'string') {
    throw new ZStackHttpError(200, 'response has no session inventory');
  }
  return inventory;
}

function login(client: ZStackClient, path: string, body: unknown, opts?: CallOptions): Promise<ApiSession> {
  return client.callSync<ApiInventoryReply<ApiSession>>({ method: 'PUT', path, body }, opts).then(sessionOf);
}

/** LogInByAccount (sync PUT); never retried. */
export function logInByAccount(
  client: ZStackClient,
  input: { accountName: string; password: string },
  opts?: CallOptions,
): Promise<ApiSession> {
  const body = { logInByAccount: { accountName: input.accountName, password: hashPassword(input.password) } };
  return login(client, '/accounts/login', body, opts);
}

/** LogInByUser (sync PUT); never retried. */
export function logInByUser(
  client: ZStackClient,
  input: { accountName: string; userName: string; password: string },
  opts?: CallOptions,
): Promise<ApiSession> {
  const body = {
    logInByUser: {
      accountName: input.accountName,
      userName: input.userName,
      password: hashPassword(input.password),
    },
  };
  return login(client, '/accounts/users/login', body, opts);
}

/** LoginIAM2VirtualID (sync PUT); never retried. */
export function logInIAM2VirtualId(
  client: ZStackClient,
  input: { name: string; password: string },
  opts?: CallOptions,
): Promise<ApiSession> {
  const body = { loginIAM2VirtualID: { name: input.name, password: hashPassword(input.password) } };
  return login(client, '/iam2/virtual-ids/login', body, opts);
}

/** LogOut (sync DELETE); ZStack answers `{}` even for an unknown session. */
export async function logOut(client: ZStackClient, sessionUuid: string, opts?: CallOptions): Promise<void> {
  await client.callSync<unknown>(
    { method: 'DELETE', path: `/accounts/sessions/${encodeURIComponent(sessionUuid)}` },
    opts,
  );
}

/** ValidateSession (sync GET, does not renew the session). */
export async function validateSession(
  client: ZStackClient,
  sessionUuid: string,
  opts?: CallOptions,
): Promise<boolean> {
  const reply = await client.get<{ valid?: unknown }>(
    { path: `/accounts/sessions/${encodeURIComponent(sessionUuid)}/valid` },
    opts,
  );
  return reply?.valid === true;
}

/** GetPlatformTimeZone (sync GET, needs a session). */
export async function getPlatformTimeZone(
  client: ZStackClient,
  opts: CallOptions,
): Promise<{ timezone?: string; offset?: string }> {
  const reply = await client.get<{ timezone?: unknown; offset?: unknown }>(
    { path: '/management-nodes/platform-timezone' },
    opts,
  );
  const out: { timezone?: string; offset?: string } = {};
  if (typeof reply?.timezone === 'string') out.timezone = reply.timezone;
  if (typeof reply?.offset === 'string') out.offset = reply.offset;
  return out;
}
