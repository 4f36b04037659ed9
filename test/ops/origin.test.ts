import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpsHarness, startOps } from './support.js';

/**
 * A POST with the Origin and Host given (undici and fetch set Host themselves): what a page on
 * a rebinding attacker's name sends once that name resolves to the gateway's address.
 */
function post(
  h: OpsHarness,
  headers: { origin: string; host?: string },
): Promise<{ status: number; text: string; allowOrigin: unknown }> {
  const { hostname, port } = new URL(h.base);
  const body = JSON.stringify({ query: 'mutation { logOut { loggedOut } }' });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path: '/graphql',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `OAuth ${'e'.repeat(32)}`,
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            allowOrigin: res.headers['access-control-allow-origin'],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const code = (text: string) =>
  (JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;

describe('same-origin by default: the listen address, never the Host header', () => {
  let h: OpsHarness;
  let port: string;
  beforeAll(async () => {
    h = await startOps({ env: { LOG_LEVEL: 'silent' } });
    port = new URL(h.base).port;
  });
  afterAll(() => h.close());

  it.each(['evil.example', 'rebind.attacker.test'])(
    'Origin equal to an attacker-chosen Host (%s) is refused, and nothing reaches ZStack',
    async (name) => {
      h.simulator.controls.clearRequests();
      const res = await post(h, { origin: `http://${name}:${port}`, host: `${name}:${port}` });
      expect(res.status).toBe(403);
      expect(code(res.text)).toBe('FORBIDDEN');
      expect(h.simulator.controls.requests).toEqual([]);
    },
  );

  it.each(['127.0.0.1', 'localhost', '[::1]'])(
    'a page at http://%s:<port> (GraphiQL) is same-origin',
    async (host) => {
      const res = await post(h, { origin: `http://${host}:${port}`, host: `${host}:${port}` });
      expect(res.status).toBe(200);
      // Same-origin needs no CORS headers; the mutation ran.
      expect(res.allowOrigin).toBeUndefined();
      expect(JSON.parse(res.text)).toEqual({ data: { logOut: { loggedOut: true } } });
    },
  );

  it('a loopback page on another port is another origin', async () => {
    const other = Number(port) === 65535 ? 65534 : Number(port) + 1;
    const res = await post(h, { origin: `http://127.0.0.1:${other}` });
    expect(res.status).toBe(403);
  });
});

describe('PUBLIC_ORIGINS', () => {
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps({ env: { LOG_LEVEL: 'silent', PUBLIC_ORIGINS: 'https://gateway.example.com' } });
  });
  afterAll(() => h.close());

  it("names the gateway's own origins (behind a TLS proxy), and only those", async () => {
    const own = await post(h, { origin: 'https://gateway.example.com', host: 'gateway.example.com' });
    expect(own.status).toBe(200);
    expect(own.allowOrigin).toBeUndefined();
    const { port } = new URL(h.base);
    const loopback = await post(h, { origin: `http://127.0.0.1:${port}` });
    expect(loopback.status).toBe(403);
    const rebound = await post(h, { origin: 'https://evil.example', host: 'evil.example' });
    expect(rebound.status).toBe(403);
  });
});
