import { afterEach, describe, expect, it, vi } from 'vitest';
import { type GqlResult, type OpsHarness, startOps } from './support.js';

const LOG_IN = 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }';

function code(res: GqlResult): unknown {
  return res.body.errors?.[0]?.extensions?.code;
}

/** Login calls ZStack has seen (any kind). */
function logins(h: OpsHarness): number {
  return h.simulator.controls.requests.filter((r) => r.path.endsWith('/login')).length;
}

let h: OpsHarness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await h?.close();
  h = undefined;
});

async function start(env: Record<string, string>): Promise<OpsHarness> {
  h = await startOps({ env: { LOG_LEVEL: 'silent', ...env } });
  return h;
}

describe('logIn per client address (LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE)', () => {
  it('refuses the N+1th attempt with RATE_LIMITED and Retry-After before any upstream call, and lets it through a minute later', async () => {
    const h = await start({
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '5',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '0',
    });
    // The limiter's clock (Date) is the subject; nothing else here waits on time.
    vi.useFakeTimers({ toFake: ['Date'] });
    const { admin } = h.simulator.controls.demo;
    h.simulator.controls.clearRequests();
    const guess = (n: number) =>
      h.gql(LOG_IN, { i: { kind: 'ACCOUNT', accountName: admin.accountName, password: `guess-${n}` } });
    for (let n = 0; n < 5; n++) expect(code(await guess(n))).toBe('UNAUTHENTICATED');
    const refused = await guess(5);
    expect(code(refused)).toBe('RATE_LIMITED');
    const extensions = refused.body.errors?.[0]?.extensions ?? {};
    expect(extensions.scope).toBe('client');
    expect(extensions).not.toHaveProperty('http');
    const retryAfter = extensions.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['retry-after']).toBe(String(retryAfter));
    // The right password is refused too: the address is over its limit, whatever it sends.
    const right = await h.gql(LOG_IN, {
      i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password },
    });
    expect(code(right)).toBe('RATE_LIMITED');
    expect(logins(h)).toBe(5);

    vi.setSystemTime(Date.now() + 60_001);
    const later = await h.gql(LOG_IN, {
      i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password },
    });
    expect(later.body.errors).toBeUndefined();
    expect(logins(h)).toBe(6);
  });

  it('gives an aliased document no more attempts', async () => {
    const h = await start({
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '3',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '0',
    });
    const { admin } = h.simulator.controls.demo;
    h.simulator.controls.clearRequests();
    const field = (i: number) =>
      `g${i}: logIn(input: { accountName: ${JSON.stringify(admin.accountName)}, password: "guess-${i}" }) { session { uuid } }`;
    for (let n = 0; n < 3; n++) expect(code(await h.gql(`mutation { ${field(n)} }`))).toBe('UNAUTHENTICATED');
    const aliased = await h.gql(`mutation { ${Array.from({ length: 8 }, (_, i) => field(i)).join(' ')} }`);
    expect(code(aliased)).toBe('RATE_LIMITED');
    expect(logins(h)).toBe(3);
  });
});

describe('logIn per account name (LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE)', () => {
  it('refuses an account after N failures, counts no success, leaves other accounts alone, and ends a minute later', async () => {
    const h = await start({
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '0',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '3',
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    const { admin, approvers } = h.simulator.controls.demo;
    const approver = approvers[0] as { name: string; password: string };
    const asAdmin = (password: string) =>
      h.gql(LOG_IN, { i: { kind: 'ACCOUNT', accountName: admin.accountName, password } });
    // Successes never count: a user who logs in often is never locked out by it.
    for (let n = 0; n < 5; n++) expect((await asAdmin(admin.password)).body.errors).toBeUndefined();
    h.simulator.controls.clearRequests();
    for (let n = 0; n < 3; n++) expect(code(await asAdmin(`guess-${n}`))).toBe('UNAUTHENTICATED');
    const refused = await asAdmin(admin.password);
    expect(code(refused)).toBe('RATE_LIMITED');
    expect(refused.body.errors?.[0]?.extensions?.scope).toBe('account');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    // The name is the account's whatever its case.
    expect(code(await asAdmin('guess-x'))).toBe('RATE_LIMITED');
    expect(
      code(
        await h.gql(LOG_IN, {
          i: { kind: 'ACCOUNT', accountName: admin.accountName.toUpperCase(), password: 'x' },
        }),
      ),
    ).toBe('RATE_LIMITED');
    expect(logins(h)).toBe(3);
    const other = await h.gql(LOG_IN, {
      i: { kind: 'IAM2_VIRTUAL_ID', virtualIdName: approver.name, password: approver.password },
    });
    expect(other.body.errors).toBeUndefined();

    vi.setSystemTime(Date.now() + 60_001);
    expect((await asAdmin(admin.password)).body.errors).toBeUndefined();
  });

  it('counts parallel guesses before ZStack answers any of them', async () => {
    const h = await start({
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '0',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '3',
    });
    const { admin } = h.simulator.controls.demo;
    h.simulator.controls.clearRequests();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        h.gql(LOG_IN, { i: { kind: 'ACCOUNT', accountName: admin.accountName, password: `guess-${n}` } }),
      ),
    );
    const codes = results.map(code);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(17);
    expect(logins(h)).toBe(3);
  });
});

describe('with REDIS_URL and Redis away', () => {
  it('each instance still counts, in memory, and no login fails for it', async () => {
    const h = await start({
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_KEY_SECRET: 'a-test-only-secret-of-at-least-32-characters',
      LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE: '0',
      LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE: '2',
    });
    expect(h.gateway.cluster?.up).toBe(false);
    const { admin } = h.simulator.controls.demo;
    const asAdmin = (password: string) =>
      h.gql(LOG_IN, { i: { kind: 'ACCOUNT', accountName: admin.accountName, password } });
    expect((await asAdmin(admin.password)).body.errors).toBeUndefined();
    h.simulator.controls.clearRequests();
    expect([code(await asAdmin('g1')), code(await asAdmin('g2')), code(await asAdmin('g3'))]).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'RATE_LIMITED',
    ]);
    expect(logins(h)).toBe(2);
  });
});

describe('defaults', () => {
  it('throttle by default: 60 attempts per client, 10 failures per account a minute', async () => {
    const h = await start({});
    expect(h.config.loginAttemptsPerClientPerMinute).toBe(60);
    expect(h.config.loginFailuresPerAccountPerMinute).toBe(10);
    const { admin } = h.simulator.controls.demo;
    h.simulator.controls.clearRequests();
    const codes: unknown[] = [];
    for (let n = 0; n < 12; n++)
      codes.push(
        code(
          await h.gql(LOG_IN, { i: { kind: 'ACCOUNT', accountName: admin.accountName, password: `g${n}` } }),
        ),
      );
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    expect(codes.slice(10)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect(logins(h)).toBe(10);
  });
});
