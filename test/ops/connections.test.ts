import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { subscribe } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { CHANGE, type OpsHarness, startOps } from './support.js';

/** A raw client socket: everything it received, and when the server closed it. */
interface Raw {
  socket: Socket;
  received: () => string;
  /** Resolves with the ms from opening to the server's close. */
  closed: Promise<number>;
  /** Writes `chunk` every `everyMs` until the socket closes. */
  trickle(chunk: string, everyMs: number): void;
}

let sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets) s.destroy();
  sockets = [];
});

async function open(port: number): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.setNoDelay(true);
  const opened = performance.now();
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - opened)),
  );
  let timer: NodeJS.Timeout | undefined;
  socket.once('close', () => clearInterval(timer));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => text,
    closed,
    trickle(chunk, everyMs) {
      timer = setInterval(() => {
        if (socket.writable) socket.write(chunk);
      }, everyMs);
    },
  };
}

const portOf = (h: OpsHarness) => Number(new URL(h.base).port);

/** One complete keep-alive GET /health on the socket; resolves with the answer's text. */
async function health(raw: Raw): Promise<string> {
  const before = raw.received().length;
  raw.socket.write('GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n');
  await waitFor(() => raw.received().slice(before).includes('{"status":"ok"}'), 'the /health answer');
  return raw.received().slice(before);
}

function bodyOf(text: string): { errors?: { extensions?: { code?: string } }[] } {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;

describe('timeouts', () => {
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps({
      env: {
        HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        KEEP_ALIVE_TIMEOUT_MS: '5000',
        TICKET_POLL_INTERVAL_MS: '60000',
      },
    });
  });
  afterAll(() => h.close());

  it('trickled headers are cut at HEADERS_TIMEOUT_MS with 408 REQUEST_TIMEOUT', async () => {
    const raw = await open(portOf(h));
    raw.socket.write('POST /graphql HTTP/1.1\r\nHost: gateway\r\n');
    raw.trickle('x-slow: 1\r\n', 50);
    const ms = await raw.closed;
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(raw.received()).errors?.[0]?.extensions?.code).toBe(ErrorCode.REQUEST_TIMEOUT);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 20);
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('a trickled body is cut at REQUEST_TIMEOUT_MS with 408 REQUEST_TIMEOUT', async () => {
    const raw = await open(portOf(h));
    raw.socket.write(
      'POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
        'Accept: application/json\r\nContent-Length: 100000\r\n\r\n{"query":"',
    );
    raw.trickle(' ', 50);
    const ms = await raw.closed;
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(raw.received()).errors?.[0]?.extensions?.code).toBe(ErrorCode.REQUEST_TIMEOUT);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 20);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 3000);
  });

  it('an idle keep-alive connection outlives the headers timeout and serves its next request', async () => {
    const raw = await open(portOf(h));
    expect(await health(raw)).toMatch(/^HTTP\/1\.1 200 /);
    const idleUntil = performance.now() + 3 * HEADERS_TIMEOUT_MS;
    await waitFor(() => performance.now() > idleUntil, 'three headers timeouts of idleness');
    expect(await health(raw)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('an SSE subscription stays open past REQUEST_TIMEOUT_MS and still gets its events', async () => {
    const session = await h.adminSession();
    const uuid = h.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const sub = await subscribe(
      h.url,
      'subscription($uuids: [ID!]) { ticketUpdated(uuids: $uuids) { uuid status } }',
      { uuids: [uuid] },
      session,
    );
    try {
      const openUntil = performance.now() + 3 * REQUEST_TIMEOUT_MS;
      await waitFor(() => performance.now() > openUntil, 'three request timeouts of streaming');
      const res = await h.gql(CHANGE, { input: { uuid, statusEvent: 'APPROVE' } }, { session });
      expect(res.body.errors).toBeUndefined();
      const event = await sub.next(3000);
      expect(event.data).toMatchObject({ ticketUpdated: { uuid } });
    } finally {
      sub.close();
    }
  });
});

describe('connection cap', () => {
  const CAP = 5;
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps({ env: { MAX_CONNECTIONS: String(CAP) } });
  });
  afterAll(() => h.close());

  it('past MAX_CONNECTIONS a new connection is closed at once; the open ones keep working', async () => {
    const held: Raw[] = [];
    for (let i = 0; i < CAP; i++) {
      const raw = await open(portOf(h));
      // An answer proves the server accepted and counts this connection.
      expect(await health(raw)).toMatch(/^HTTP\/1\.1 200 /);
      held.push(raw);
    }
    const extra = await open(portOf(h));
    extra.socket.write('GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const ms = await extra.closed;
    expect(extra.received()).toBe('');
    expect(ms).toBeLessThan(1000);

    for (const raw of held) expect(await health(raw)).toMatch(/^HTTP\/1\.1 200 /);

    // A freed slot is usable again.
    held[0]?.socket.destroy();
    await waitFor(async () => {
      const next = await open(portOf(h));
      next.socket.write('GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n');
      await Promise.race([next.closed, waitFor(() => next.received().includes('"ok"'), 'an answer', 1000)]);
      return next.received().includes('"ok"');
    }, 'a connection to be accepted after one closed');
  });
});

describe('many slow clients', () => {
  // 1,000 slow sockets cost 2,000 descriptors here (both ends live in this process).
  const SLOW = 1000;
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps();
  });
  afterAll(() => h.close());

  it(`a normal request is answered within 1 s while ${SLOW} clients trickle headers and bodies`, async () => {
    // Warm: the first request of a process compiles its document; that cost is not the subject here.
    expect((await h.gql('{ __typename }')).body.data).toEqual({ __typename: 'Query' });
    const slow: Raw[] = [];
    // In batches, so the listen backlog never overflows (a dropped SYN costs a 1 s retry).
    for (let i = 0; i < SLOW; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, SLOW - i) }, () => open(portOf(h))));
      for (const [j, raw] of batch.entries()) {
        if ((i + j) % 2 === 0) {
          raw.socket.write('POST /graphql HTTP/1.1\r\nHost: gateway\r\n');
          raw.trickle('x-slow: 1\r\n', 500);
        } else {
          raw.socket.write(
            'POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
              'Accept: application/json\r\nContent-Length: 100000\r\n\r\n{"query":"',
          );
          raw.trickle(' ', 500);
        }
        slow.push(raw);
      }
    }
    await waitFor(() => h.app.inFlight >= SLOW / 2, 'the slow bodies to reach the handler', 10_000);

    const started = performance.now();
    const res = await h.gql('{ __typename }');
    const ms = performance.now() - started;
    expect(res.body.data).toEqual({ __typename: 'Query' });
    expect(ms).toBeLessThan(1000);
    // Still connected: the answer did not come from slow clients being cut.
    expect(slow.filter((r) => r.socket.destroyed)).toHaveLength(0);
  }, 60_000);
});
