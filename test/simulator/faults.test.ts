import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { awaitJob, call, loginAccount, start } from './support.js';

let sim: Simulator;
let session: string;
beforeAll(async () => {
  sim = await start();
  session = await loginAccount(sim);
});
afterAll(() => sim.close());
beforeEach(() => sim.controls.reset());

function pending(): string {
  return sim.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
}

const approve = (uuid: string) =>
  call(sim, 'PUT', `/v1/tickets/${uuid}/actions`, {
    session,
    body: { changeTicketStatus: { statusEvent: 'approve' } },
  });

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${sim.url.replace(/\/zstack$/, '')}/__simulator/${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('fault kinds', () => {
  it('errorCode (sync): the next matching call is a 503 with that ErrorCode, then things are normal', async () => {
    sim.controls.injectFault({
      fault: { kind: 'errorCode', code: 'SYS.1001', details: 'timeout after 300s' },
      path: '/v1/tickets',
    });
    const r = await call(sim, 'GET', '/v1/tickets?limit=1', { session });
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({
      code: 'SYS.1001',
      description: 'A message or a operation timeout',
      details: 'timeout after 300s',
    });
    expect((await call(sim, 'GET', '/v1/tickets?limit=1', { session })).status).toBe(200);
  });

  it('errorCode (async): 202, then a failed job; the write is not applied', async () => {
    const uuid = pending();
    sim.controls.injectFault({
      fault: { kind: 'errorCode', code: 'SYS.1006', description: 'custom', details: 'boom', async: true },
      method: 'PUT',
    });
    const r = await approve(uuid);
    expect(r.status).toBe(202);
    const job = await awaitJob(sim, r.json.location);
    expect(job.status).toBe(503);
    expect(job.json.error).toMatchObject({ code: 'SYS.1006', description: 'custom', details: 'boom' });
    expect(sim.controls.getTicket(uuid)?.status).toBe('Pending');
  });

  it('http500: a plain-text 500', async () => {
    sim.controls.injectFault({ fault: { kind: 'http500', text: 'java.lang.OutOfMemoryError' } });
    const r = await call(sim, 'GET', '/v1/ticket-types', { session });
    expect(r.status).toBe(500);
    expect(r.text).toBe('java.lang.OutOfMemoryError');
  });

  it('reset: the connection dies and the write is not applied', async () => {
    const uuid = pending();
    sim.controls.injectFault({ fault: { kind: 'reset' }, method: 'PUT' });
    await expect(approve(uuid)).rejects.toThrow();
    expect(sim.controls.getTicket(uuid)?.status).toBe('Pending');
  });

  it('reset after: the connection dies but the write happened', async () => {
    const uuid = pending();
    sim.controls.injectFault({ fault: { kind: 'reset', after: true }, method: 'PUT' });
    await expect(approve(uuid)).rejects.toThrow();
    expect(sim.controls.getTicket(uuid)?.status).toBe('IntermediateApproved');
  });

  it('malformed: the right status with a body that is not JSON', async () => {
    sim.controls.injectFault({ fault: { kind: 'malformed' }, path: '/v1/tickets' });
    const r = await call(sim, 'GET', '/v1/tickets', { session });
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"inventor');
    expect(r.json).toBeUndefined();
  });

  it('truncated: Content-Length promises more than arrives before the close', async () => {
    sim.controls.injectFault({ fault: { kind: 'truncated' } });
    const res = await fetch(`${sim.url}/v1/tickets?limit=3`, {
      headers: { Authorization: `OAuth ${session}` },
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('slowBody: headers at once, the body only after the delay', async () => {
    sim.controls.injectFault({ fault: { kind: 'slowBody', delayMs: 300 } });
    const res = await fetch(`${sim.url}/v1/ticket-types`, { headers: { Authorization: `OAuth ${session}` } });
    const headersAt = Date.now();
    const body = await res.text();
    expect(Date.now() - headersAt).toBeGreaterThanOrEqual(250);
    expect(JSON.parse(body).inventories).toHaveLength(3);
  });

  it('latency: a normal answer, late', async () => {
    sim.controls.injectFault({ fault: { kind: 'latency', ms: 200 } });
    const t0 = Date.now();
    const r = await call(sim, 'GET', '/v1/ticket-types', { session });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(r.status).toBe(200);
  });
});

describe('fault matching', () => {
  it('rules match by method and path substring, in insertion order, each consumed `times` times', async () => {
    sim.controls.injectFault({
      fault: { kind: 'http500', text: 'first' },
      method: 'GET',
      path: '/api-jobs/',
      times: 2,
    });
    sim.controls.injectFault({ fault: { kind: 'http500', text: 'second' }, method: 'GET' });
    const uuid = pending();
    const r = await approve(uuid); // PUT: matches neither
    expect(r.status).toBe(202);
    const path = new URL(r.json.location).pathname.replace('/zstack', '');
    expect((await call(sim, 'GET', path)).text).toBe('first');
    expect((await call(sim, 'GET', path)).text).toBe('first');
    expect((await call(sim, 'GET', path)).text).toBe('second');
    expect((await call(sim, 'GET', path)).status).toBe(200);
  });

  it('times: Infinity keeps failing until clearFaults', async () => {
    sim.controls.injectFault({ fault: { kind: 'http500' }, times: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 3; i++)
      expect((await call(sim, 'GET', '/v1/ticket-types', { session })).status).toBe(500);
    sim.controls.clearFaults();
    expect((await call(sim, 'GET', '/v1/ticket-types', { session })).status).toBe(200);
  });

  it('rejects a rule with an unknown kind', () => {
    expect(() => sim.controls.injectFault({ fault: { kind: 'nope' } as never })).toThrow();
  });
});

describe('request log', () => {
  it('records method, path, query, headers and body; count filters', async () => {
    await call(sim, 'GET', '/v1/tickets?limit=2&q=status=Pending', { session });
    await approve(pending());
    const log = sim.controls.requests;
    expect(log.map((r) => r.method)).toEqual(['GET', 'PUT']);
    expect(log[0]).toMatchObject({
      seq: expect.any(Number),
      path: '/zstack/v1/tickets',
      query: 'limit=2&q=status=Pending',
    });
    expect(log[0]?.headers.authorization).toBe(`OAuth ${session}`);
    expect(JSON.parse(log[1]?.body ?? '')).toEqual({ changeTicketStatus: { statusEvent: 'approve' } });
    expect((log[1]?.seq ?? 0) > (log[0]?.seq ?? 0)).toBe(true);
    expect(sim.controls.count()).toBe(2);
    expect(sim.controls.count({ method: 'put' })).toBe(1);
    expect(sim.controls.count({ path: '/actions' })).toBe(1);
    sim.controls.clearRequests();
    expect(sim.controls.count()).toBe(0);
  });
});

describe('admin HTTP endpoints', () => {
  it('faults (times: null = forever), requests, job latency, demo and reset over HTTP', async () => {
    expect(
      (await admin('POST', 'faults', { fault: { kind: 'http500' }, times: null, path: '/ticket-types' }))
        .status,
    ).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await call(sim, 'GET', '/v1/ticket-types', { session })).status).toBe(500);
    expect((await admin('DELETE', 'faults')).status).toBe(200);
    expect((await call(sim, 'GET', '/v1/ticket-types', { session })).status).toBe(200);

    const log = (await (await admin('GET', 'requests')).json()) as { path: string }[];
    expect(log).toHaveLength(4);
    expect(log.every((r) => !r.path.startsWith('/__simulator'))).toBe(true);
    await admin('DELETE', 'requests');
    expect(sim.controls.count()).toBe(0);

    expect((await admin('PUT', 'job-latency', { ms: 5000 })).status).toBe(200);
    const r = await approve(pending());
    expect((await call(sim, 'GET', new URL(r.json.location).pathname.replace('/zstack', ''))).status).toBe(
      202,
    );

    const demo = await (await admin('GET', 'demo')).json();
    expect(demo).toEqual(sim.controls.demo);

    sim.controls.setTicketField(pending(), 'name', 'changed');
    expect((await admin('POST', 'reset')).status).toBe(200);
    expect(sim.controls.listTickets().some((t) => t.name === 'changed')).toBe(false);
    expect(sim.controls.count()).toBe(0);

    expect((await admin('POST', 'faults', { fault: { kind: 'bogus' } })).status).toBe(400);
    expect((await admin('GET', 'nothing')).status).toBe(404);
  });
});
