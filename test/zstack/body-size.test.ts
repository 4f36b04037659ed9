/**
 * Bytes bounded both ways at the upstream client: a body over maxRequestBytes is never sent, an
 * answer over maxResponseBytes is refused before it is read whole (by its Content-Length, or counted
 * while it streams), its connection closed, and the pool still serves the next call.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ZStackRequestTooLargeError, ZStackResponseTooLargeError } from '../../src/zstack/errors.js';
import { jsonTextExceeds } from '../../src/zstack/request-size.js';
import { closedAfterEach, rejection, send } from './fake-zstack.js';

const { fake, client } = closedAfterEach({ timeoutMs: 5000 });

const LIMIT = 64 * 1024;
const BIG = { inventories: [{ uuid: 'a'.repeat(32), description: 'x'.repeat(200_000) }] };

/** Writes `text` in 8 KiB chunks without a Content-Length (chunked encoding). */
function sendChunked(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  for (let at = 0; at < text.length; at += 8192) res.write(text.slice(at, at + 8192));
  res.end();
}

describe('jsonTextExceeds', () => {
  it.each([
    [{ a: 'xyz' }, 11, false], // {"a":"xyz"} is 11 bytes, counted as 11
    [{ a: 'xyz' }, 10, true],
    [[1, 2, 3], 7, false], // [1,2,3]
    [[1, 2, 3], 6, true],
    [{ a: undefined, b: null }, 10, false], // {"b":null}
    [{ a: undefined, b: null }, 9, true],
    [{ a: [], b: {} }, 15, false], // {"a":[],"b":{}}
    [{ a: [], b: {} }, 14, true],
  ])('%j over %d: %s', (value, max, over) => {
    expect(jsonTextExceeds(value, max)).toBe(over);
    if (!over) expect(JSON.stringify(value).length).toBeLessThanOrEqual(max);
  });

  it('counts a part referenced many times at every reference, and stops at the ceiling', () => {
    const part = { pad: 'x'.repeat(256 * 1024) };
    const requests = Array.from({ length: 200 }, () => ({ apiName: 'a', apiBody: part }));
    expect(jsonTextExceeds({ params: { requests } }, 1024 * 1024)).toBe(true);
    expect(jsonTextExceeds({ params: { requests: requests.slice(0, 3) } }, 1024 * 1024)).toBe(false);
  });
});

describe('request ceiling', () => {
  it('a body over maxRequestBytes is refused and nothing reaches ZStack', async () => {
    const f = await fake((_req, res) => send(res, 200, { inventory: { uuid: 'a'.repeat(32) } }));
    const c = client(f.baseUrl, { maxRequestBytes: 4096 });
    const err = await rejection(
      c.callAsync({ method: 'POST', path: '/tickets', body: { params: { name: 'x'.repeat(5000) } } }),
    );
    expect(err).toBeInstanceOf(ZStackRequestTooLargeError);
    expect((err as ZStackRequestTooLargeError).limitBytes).toBe(4096);
    expect(f.requests).toHaveLength(0);
  });

  it('the exact size counts: escapes that pass the estimate are caught once serialized', async () => {
    const f = await fake((_req, res) => send(res, 200, { inventory: { uuid: 'a'.repeat(32) } }));
    const c = client(f.baseUrl, { maxRequestBytes: 4096 });
    // 3,000 quotes: counted as 3,002 bytes, sent as 6,002 (\" each).
    const body = { params: { name: '"'.repeat(3000) } };
    expect(jsonTextExceeds(body, 4096)).toBe(false);
    const err = await rejection(c.callAsync({ method: 'POST', path: '/tickets', body }));
    expect(err).toBeInstanceOf(ZStackRequestTooLargeError);
    expect(f.requests).toHaveLength(0);
  });

  it('a body within the ceiling is sent as before', async () => {
    const f = await fake((_req, res) => send(res, 200, { inventory: { uuid: 'a'.repeat(32) } }));
    const c = client(f.baseUrl, { maxRequestBytes: 4096 });
    const reply = await c.callAsync<{ inventory: { uuid: string } }>({
      method: 'POST',
      path: '/tickets',
      body: { params: { name: 'x'.repeat(3000) } },
    });
    expect(reply.inventory.uuid).toBe('a'.repeat(32));
    expect(f.requests).toHaveLength(1);
  });
});

describe('response ceiling', () => {
  it.each([
    ['with a Content-Length', (res: ServerResponse) => send(res, 200, BIG)],
    [
      'streamed without a Content-Length',
      (res: ServerResponse) => sendChunked(res, 200, JSON.stringify(BIG)),
    ],
  ])(
    'an answer over maxResponseBytes %s is refused, not retried, and the pool goes on',
    async (_name, answer) => {
      let big = true;
      const f = await fake((_req, res) => {
        if (big) answer(res);
        else send(res, 200, { inventories: [] });
      });
      const c = client(f.baseUrl, { maxResponseBytes: LIMIT });
      const err = await rejection(c.get({ path: '/tickets' }));
      expect(err).toBeInstanceOf(ZStackResponseTooLargeError);
      expect((err as ZStackResponseTooLargeError).limitBytes).toBe(LIMIT);
      expect((err as ZStackResponseTooLargeError).mayHaveApplied).toBe(false);
      expect(f.count('GET', '/zstack/v1/tickets')).toBe(1);
      big = false;
      await expect(c.get({ path: '/tickets' })).resolves.toEqual({ inventories: [] });
    },
  );

  it('an answer within the bound, streamed, is read whole', async () => {
    const small = { inventories: [{ uuid: 'a'.repeat(32), description: 'é'.repeat(20_000) }] };
    const f = await fake((_req, res) => sendChunked(res, 200, JSON.stringify(small)));
    const c = client(f.baseUrl, { maxResponseBytes: LIMIT });
    await expect(c.get({ path: '/tickets' })).resolves.toEqual(small);
  });

  it("a write's oversized answer says the write may have been applied", async () => {
    const f = await fake((_req, res) => send(res, 200, { inventory: BIG }));
    const c = client(f.baseUrl, { maxResponseBytes: LIMIT });
    const err = await rejection(c.callAsync({ method: 'POST', path: '/tickets', body: { params: {} } }));
    expect(err).toBeInstanceOf(ZStackResponseTooLargeError);
    expect((err as ZStackResponseTooLargeError).mayHaveApplied).toBe(true);
    expect(f.count('POST', '/zstack/v1/tickets')).toBe(1);
  });
});
