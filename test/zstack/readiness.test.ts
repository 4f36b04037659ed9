import { describe, expect, it } from 'vitest';
import { checkZStackReady } from '../../src/zstack/readiness.js';
import { closedAfterEach, closedPort, send } from './fake-zstack.js';

const { fake, client } = closedAfterEach({ timeoutMs: 2000 });
const VALID = '/zstack/v1/accounts/sessions/00000000000000000000000000000000/valid';

describe('checkZStackReady (the /ready probe through the upstream client)', () => {
  it('is ready when ValidateSession answers, with one unauthenticated GET', async () => {
    const f = await fake((_req, res) => send(res, 200, { valid: false }));
    expect(await checkZStackReady(client(f.baseUrl), 1000)).toEqual({ ready: true });
    expect(f.count('GET', VALID)).toBe(1);
  });

  it('is not ready on an HTTP error or an unexpected body', async () => {
    const down = await fake((_req, res) => send(res, 502, 'bad gateway'));
    expect(await checkZStackReady(client(down.baseUrl), 1000)).toEqual({
      ready: false,
      reason: 'ZStack answered HTTP 502',
    });
    const odd = await fake((_req, res) => send(res, 200, { hello: 1 }));
    expect(await checkZStackReady(client(odd.baseUrl), 1000)).toEqual({
      ready: false,
      reason: 'ZStack answered an unexpected body',
    });
  });

  it('is not ready when nothing answers, and the reason names no host or port', async () => {
    const port = await closedPort();
    const verdict = await checkZStackReady(client(`http://127.0.0.1:${port}/zstack`), 1000);
    expect(verdict.ready).toBe(false);
    expect(verdict.reason).toMatch(/^ZStack did not answer \(/);
    expect(verdict.reason).not.toContain(String(port));
  });

  it('is not ready when the answer does not come within its time', async () => {
    const f = await fake(() => {});
    const verdict = await checkZStackReady(client(f.baseUrl), 100);
    expect(verdict).toMatchObject({ ready: false });
    expect(verdict.reason).toMatch(/^ZStack did not answer \(/);
  });
});
