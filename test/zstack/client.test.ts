import { describe, expect, it } from 'vitest';
import type { JobEvent, UpstreamCallEvent } from '../../src/zstack/client.js';
import {
  ZStackAbortedError,
  ZStackApiError,
  ZStackHttpError,
  ZStackJobExpiredError,
  ZStackJobPendingError,
  ZStackUnavailableError,
} from '../../src/zstack/errors.js';
import { waitFor } from '../helpers/wait.js';
import type { FakeHandler } from './fake-zstack.js';
import { closedAfterEach, closedPort, JOB_PREFIX, jobIdOf, rejection, send } from './fake-zstack.js';

const { fake, client } = closedAfterEach({ timeoutMs: 2000 });

const TICKET = 'a'.repeat(32);
const JOB = 'b'.repeat(32);
const ADVERTISED = 'http://mn.zstack.invalid:8080/zstack/v1/api-jobs/';

interface Job {
  /** Polls still to answer "running" (202). */
  running: number;
  status: number;
  body: unknown;
}

/**
 * A ZStack-like async API: every write makes a job (honouring X-Job-UUID), served on api-jobs.
 * A job answers "running" to its first `runningPolls` polls, then its outcome: counted, not timed,
 * so a test's verdict never depends on how fast the machine is.
 */
function asyncZStack(opts: { runningPolls?: number; status?: number; body?: unknown } = {}) {
  const jobs = new Map<string, Job>();
  let n = 0;
  const handler: FakeHandler = (req, res) => {
    if (req.url.startsWith(JOB_PREFIX)) {
      const job = jobs.get(jobIdOf(req.url));
      if (job === undefined) return send(res, 404, 'the job has been expired');
      if (job.running > 0) {
        job.running--;
        return send(res, 202, {});
      }
      return send(res, job.status, job.body);
    }
    const header = req.headers['x-job-uuid'];
    const id = typeof header === 'string' ? header : (++n).toString(16).padStart(32, '0');
    if (jobs.has(id)) return send(res, 400, `Duplicate job uuid[${id}]`);
    jobs.set(id, {
      running: opts.runningPolls ?? 0,
      status: opts.status ?? 200,
      body: opts.body ?? { inventory: { uuid: TICKET, status: 'FinalApproved', n: jobs.size + 1 } },
    });
    send(res, 202, { location: ADVERTISED + id, apiTimeout: 300000 });
  };
  return { handler, jobs };
}

const NESTED_ERROR = {
  code: 'SYS.1006',
  description: 'An operation failed',
  details: 'ticket[uuid:x] cannot change status',
  cost: '1ms',
  cause: { code: 'SYS.1000', description: 'internal', cause: { code: 'X.1', details: 'deep' } },
  causes: [{ code: 'Y.2' }],
  opaque: { k: 1 },
};

describe('reads', () => {
  it('sends a GET with the session and the query as given, and returns the JSON', async () => {
    const f = await fake((_req, res) => send(res, 200, { inventories: [{ uuid: TICKET }] }));
    const calls: UpstreamCallEvent[] = [];
    const c = client(f.baseUrl, { onCall: (e) => calls.push(e) });
    const reply = await c.get({ path: '/tickets', query: 'q=status%3DPending&limit=5' }, { session: 's1' });
    expect(reply).toEqual({ inventories: [{ uuid: TICKET }] });
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]).toMatchObject({
      method: 'GET',
      url: '/zstack/v1/tickets?q=status%3DPending&limit=5',
      body: '',
    });
    expect(f.requests[0]?.headers.authorization).toBe('OAuth s1');
    expect(f.requests[0]?.headers['x-job-uuid']).toBeUndefined();
    expect(calls).toEqual([
      { method: 'GET', route: '/v1/tickets', status: 200, durationMs: expect.any(Number) },
    ]);
  });

  it('turns a 503 ErrorCode into ZStackApiError with the whole nested ErrorCode', async () => {
    const f = await fake((_req, res) => send(res, 503, { error: NESTED_ERROR }));
    const err = await rejection(client(f.baseUrl).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackApiError);
    expect((err as ZStackApiError).errorCode).toEqual(NESTED_ERROR);
    expect((err as ZStackApiError).message).toContain('An operation failed');
  });

  it.each([
    [400, "missing header 'Authorization' secret-abc", "missing header 'Authorization'"],
    [400, 'something odd secret-abc', 'bad request'],
    [404, 'no api mapping to /v1/nope secret-abc', 'no api mapping'],
    [404, 'secret-abc', 'not found'],
    [405, 'secret-abc', 'method not allowed'],
    [500, 'java.lang.NullPointerException at secret-abc', 'internal server error'],
    [502, '<html>secret-abc</html>', 'bad gateway'],
    [418, 'secret-abc', 'unexpected status'],
  ])('plain-text %i becomes ZStackHttpError without the body (%s)', async (status, text, reason) => {
    const f = await fake((_req, res) => send(res, status, text));
    const err = await rejection(client(f.baseUrl).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackHttpError);
    expect(err).toMatchObject({ status, reason });
    expect(String((err as Error).message)).not.toContain('secret-abc');
    expect(String((err as Error).message)).not.toContain('127.0.0.1');
  });

  it.each([
    [200, '{"inventor'],
    [200, ''],
    [503, '<html>busy</html>'],
    [503, '{"notError":1}'],
  ])('status %i with body %j is a malformed response', async (status, body) => {
    const f = await fake((_req, res) => send(res, status, body));
    const err = await rejection(client(f.baseUrl).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackHttpError);
    expect(err).toMatchObject({ status, reason: 'malformed response body' });
  });

  it('retries a GET whose connection is reset, then succeeds', async () => {
    let n = 0;
    const f = await fake((_req, res) => {
      n++;
      if (n === 1) return void res.socket?.destroy();
      send(res, 200, { valid: true });
    });
    const reply = await client(f.baseUrl).get({ path: `/accounts/sessions/${TICKET}/valid` });
    expect(reply).toEqual({ valid: true });
    expect(f.count('GET', '/zstack/v1/accounts/sessions/')).toBe(2);
  });

  it('gives up after getRetries and reports unavailable', async () => {
    const f = await fake((_req, res) => void res.socket?.destroy());
    const err = await rejection(client(f.baseUrl, { getRetries: 2 }).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: false });
    expect(f.count('GET', '/zstack/v1/tickets')).toBe(3);
  });

  it('reports connection refused as unavailable (retried, nothing applied)', async () => {
    const port = await closedPort();
    const err = await rejection(client(`http://127.0.0.1:${port}/zstack`).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: false });
    expect((err as Error).message).not.toContain(String(port));
  });

  // Without the timeout these calls would hang: the fake never answers (in full).
  it('times out a call whose answer never comes, and does not retry it', async () => {
    const f = await fake(() => {});
    const err = await rejection(client(f.baseUrl, { timeoutMs: 200 }).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ reason: 'no complete answer in time', mayHaveApplied: false });
    expect(f.count('GET', '/zstack/v1/tickets')).toBe(1);
  });

  it('counts the body in the timeout: headers at once, the body never', async () => {
    const f = await fake((_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.flushHeaders();
    });
    const err = await rejection(client(f.baseUrl, { timeoutMs: 300 }).get({ path: '/tickets' }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ reason: 'no complete answer in time' });
  });

  it('aborts an in-flight read when the caller goes away', async () => {
    const f = await fake(() => {});
    const ac = new AbortController();
    const p = rejection(client(f.baseUrl).get({ path: '/tickets' }, { signal: ac.signal }));
    await waitFor(() => f.requests.length === 1, 'the GET to arrive');
    ac.abort();
    expect(await p).toBeInstanceOf(ZStackAbortedError);
  });

  it('sends nothing when the deadline has already passed', async () => {
    const f = await fake((_req, res) => send(res, 200, {}));
    const err = await rejection(client(f.baseUrl).get({ path: '/tickets' }, { deadline: Date.now() - 1 }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(f.requests).toHaveLength(0);
  });

  it('stops a call at the deadline even when timeoutMs is longer', async () => {
    const f = await fake(() => {});
    const err = await rejection(
      client(f.baseUrl, { timeoutMs: 60_000 }).get({ path: '/tickets' }, { deadline: Date.now() + 200 }),
    );
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ reason: 'the operation deadline passed' });
  });

  it('endWorkAt ends a call in flight at that time, and sends none after it', async () => {
    const f = await fake(() => {});
    const c = client(f.baseUrl, { timeoutMs: 60_000 });
    const inFlight = rejection(c.get({ path: '/tickets' }));
    await waitFor(() => f.requests.length === 1, 'the GET to arrive');
    c.endWorkAt?.(Date.now() + 100);
    const err = await inFlight;
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ reason: 'the operation deadline passed' });
    const late = await rejection(c.get({ path: '/tickets' }));
    expect(late).toBeInstanceOf(ZStackUnavailableError);
    expect(f.requests).toHaveLength(1);
  });
});

describe('writes', () => {
  it('polls 202 → 202 → 200 on the configured host, not the advertised one', async () => {
    const z = asyncZStack({ runningPolls: 2 });
    const f = await fake(z.handler);
    const jobs: JobEvent[] = [];
    const calls: UpstreamCallEvent[] = [];
    const c = client(f.baseUrl, { onJob: (e) => jobs.push(e), onCall: (e) => calls.push(e) });
    const reply = await c.callAsync(
      {
        method: 'PUT',
        path: `/tickets/${TICKET}/actions`,
        body: { changeTicketStatus: { statusEvent: 'approve', comment: 'ok é' } },
      },
      { session: 's1', jobUuid: JOB },
    );
    expect(reply).toEqual({ inventory: { uuid: TICKET, status: 'FinalApproved', n: 1 } });
    const put = f.requests[0];
    expect(put).toMatchObject({ method: 'PUT', url: `/zstack/v1/tickets/${TICKET}/actions` });
    expect(JSON.parse(put?.body ?? '')).toEqual({
      changeTicketStatus: { statusEvent: 'approve', comment: 'ok é' },
    });
    expect(put?.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(put?.headers.authorization).toBe('OAuth s1');
    expect(put?.headers['x-job-uuid']).toBe(JOB);
    const polls = f.requests.slice(1);
    expect(polls).toHaveLength(3);
    for (const p of polls) expect(p).toMatchObject({ method: 'GET', url: JOB_PREFIX + JOB });
    expect(f.count('PUT', '/zstack/')).toBe(1);
    expect(jobs).toEqual([
      {
        jobUuid: JOB,
        route: '/v1/tickets/{uuid}/actions',
        polls: polls.length,
        waitMs: expect.any(Number),
        outcome: 'succeeded',
      },
    ]);
    expect(calls.map((e) => `${e.method} ${e.route} ${e.status}`)).toEqual([
      'PUT /v1/tickets/{uuid}/actions 202',
      ...polls.slice(0, -1).map(() => 'GET /v1/api-jobs/{uuid} 202'),
      'GET /v1/api-jobs/{uuid} 200',
    ]);
  });

  it('accepts a 200 straight away and sends no X-Job-UUID unless given', async () => {
    const f = await fake((_req, res) => send(res, 200, { inventory: { uuid: TICKET } }));
    const reply = await client(f.baseUrl).callAsync({
      method: 'POST',
      path: '/tickets',
      body: { params: {} },
    });
    expect(reply).toEqual({ inventory: { uuid: TICKET } });
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]?.headers['x-job-uuid']).toBeUndefined();
  });

  it('first poll comes at once: a job finished at the 202 costs exactly one poll', async () => {
    const z = asyncZStack({ runningPolls: 0 });
    const f = await fake(z.handler);
    const jobs: JobEvent[] = [];
    await client(f.baseUrl, { onJob: (e) => jobs.push(e) }).callAsync({
      method: 'DELETE',
      path: `/tickets/${TICKET}`,
    });
    expect(jobs[0]?.polls).toBe(1);
    expect(f.count('GET', JOB_PREFIX)).toBe(1);
  });

  it('a failed job (503) is ZStackApiError with the nested ErrorCode and the job uuid', async () => {
    const z = asyncZStack({ runningPolls: 1, status: 503, body: { error: NESTED_ERROR } });
    const f = await fake(z.handler);
    const err = await rejection(
      client(f.baseUrl).callAsync(
        { method: 'PUT', path: `/tickets/${TICKET}/actions`, body: {} },
        { jobUuid: JOB },
      ),
    );
    expect(err).toBeInstanceOf(ZStackApiError);
    expect(err).toMatchObject({ errorCode: NESTED_ERROR, jobUuid: JOB });
  });

  it('a sync 503 on a write is ZStackApiError without waiting', async () => {
    const f = await fake((_req, res) =>
      send(res, 503, { error: { code: 'ID.1000', details: 'wrong password' } }),
    );
    const err = await rejection(
      client(f.baseUrl).callSync({ method: 'PUT', path: '/accounts/login', body: {} }),
    );
    expect(err).toMatchObject({ errorCode: { code: 'ID.1000', details: 'wrong password' } });
  });

  // When polls happen is jobs.test.ts's subject (fake time); here: the outcome over real HTTP.
  it('job still running at jobTimeoutMs → ZStackJobPendingError, the write sent exactly once', async () => {
    const z = asyncZStack({ runningPolls: Number.POSITIVE_INFINITY });
    const f = await fake(z.handler);
    const jobs: JobEvent[] = [];
    const err = await rejection(
      client(f.baseUrl, { jobTimeoutMs: 300, onJob: (e) => jobs.push(e) }).callAsync(
        { method: 'PUT', path: `/tickets/${TICKET}/actions`, body: {} },
        { jobUuid: JOB },
      ),
    );
    expect(err).toBeInstanceOf(ZStackJobPendingError);
    expect(err).toMatchObject({ jobUuid: JOB });
    expect(f.count('PUT', '/zstack/')).toBe(1);
    expect(jobs[0]).toMatchObject({ outcome: 'pending', jobUuid: JOB });
  });

  it('the caller deadline ends polling as pending too', async () => {
    const z = asyncZStack({ runningPolls: Number.POSITIVE_INFINITY });
    const f = await fake(z.handler);
    const err = await rejection(
      client(f.baseUrl).callAsync(
        { method: 'DELETE', path: `/tickets/${TICKET}` },
        { deadline: Date.now() + 250 },
      ),
    );
    expect(err).toBeInstanceOf(ZStackJobPendingError);
    expect(f.count('DELETE', '/zstack/')).toBe(1);
  });

  it('poll 404 → ZStackJobExpiredError', async () => {
    const f = await fake((req, res) => {
      if (req.url.startsWith(JOB_PREFIX)) return send(res, 404, 'the job has been expired');
      send(res, 202, { location: ADVERTISED + JOB, apiTimeout: 300000 });
    });
    const err = await rejection(
      client(f.baseUrl).callAsync({ method: 'DELETE', path: `/tickets/${TICKET}` }),
    );
    expect(err).toBeInstanceOf(ZStackJobExpiredError);
    expect(err).toMatchObject({ jobUuid: JOB });
  });

  it('a 202 without a usable location is a malformed response', async () => {
    const f = await fake((_req, res) => send(res, 202, { location: 'http://x/zstack/v1/elsewhere' }));
    const err = await rejection(
      client(f.baseUrl).callAsync({ method: 'DELETE', path: `/tickets/${TICKET}` }),
    );
    expect(err).toMatchObject({ status: 202, reason: 'malformed response body' });
  });

  it('a reset while polling is retried like a read; the write is not resent', async () => {
    const z = asyncZStack({ runningPolls: 1 });
    let polls = 0;
    const f = await fake((req, res) => {
      if (req.url.startsWith(JOB_PREFIX) && ++polls === 1) return void res.socket?.destroy();
      return z.handler(req, res);
    });
    const reply = await client(f.baseUrl).callAsync({
      method: 'PUT',
      path: `/tickets/${TICKET}/actions`,
      body: {},
    });
    expect(reply).toMatchObject({ inventory: { uuid: TICKET } });
    expect(f.count('PUT', '/zstack/')).toBe(1);
    expect(polls).toBe(3); // reset, retried → running, then done
  });

  it('a reset before any answer on a write is not retried and may have applied', async () => {
    const f = await fake((_req, res) => void res.socket?.destroy());
    const err = await rejection(
      client(f.baseUrl).callAsync(
        { method: 'PUT', path: `/tickets/${TICKET}/actions`, body: {} },
        { jobUuid: JOB },
      ),
    );
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: true, jobUuid: JOB });
    expect(f.count('PUT', '/zstack/')).toBe(1);
  });

  it('a body cut short after the headers on a write may have applied', async () => {
    const f = await fake((_req, res) => {
      res.writeHead(202, { 'content-length': '100' });
      res.write('{"locat', () => res.socket?.destroy());
    });
    const err = await rejection(client(f.baseUrl).callAsync({ method: 'POST', path: '/tickets', body: {} }));
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: true });
    expect(f.count('POST', '/zstack/')).toBe(1);
  });

  it('a write timing out may have applied', async () => {
    const f = await fake(() => {});
    const err = await rejection(
      client(f.baseUrl, { timeoutMs: 200 }).callAsync(
        { method: 'POST', path: '/tickets', body: {} },
        { jobUuid: JOB },
      ),
    );
    expect(err).toMatchObject({ mayHaveApplied: true, jobUuid: JOB });
    expect(f.count('POST', '/zstack/')).toBe(1);
  });

  it('a write to a refused port did not apply', async () => {
    const port = await closedPort();
    const err = await rejection(
      client(`http://127.0.0.1:${port}/zstack`).callAsync({ method: 'POST', path: '/tickets', body: {} }),
    );
    expect(err).toBeInstanceOf(ZStackUnavailableError);
    expect(err).toMatchObject({ mayHaveApplied: false });
  });

  it('a plain-text 500 on a write carries the sent job uuid', async () => {
    const f = await fake((_req, res) => send(res, 500, 'boom'));
    const err = await rejection(
      client(f.baseUrl).callAsync({ method: 'POST', path: '/tickets', body: {} }, { jobUuid: JOB }),
    );
    expect(err).toMatchObject({ status: 500, reason: 'internal server error', jobUuid: JOB });
  });

  it('abort stops polling', async () => {
    const z = asyncZStack({ runningPolls: Number.POSITIVE_INFINITY });
    const f = await fake(z.handler);
    const jobs: JobEvent[] = [];
    const ac = new AbortController();
    const p = rejection(
      client(f.baseUrl, { onJob: (e) => jobs.push(e) }).callAsync(
        { method: 'DELETE', path: `/tickets/${TICKET}` },
        { signal: ac.signal, jobUuid: JOB },
      ),
    );
    await waitFor(() => f.count('GET', JOB_PREFIX) >= 3, 'three polls');
    ac.abort();
    const err = await p;
    expect(err).toBeInstanceOf(ZStackAbortedError);
    expect(err).toMatchObject({ jobUuid: JOB });
    const pollsAtAbort = f.count('GET', JOB_PREFIX);
    expect(jobs[0]).toMatchObject({ outcome: 'aborted', polls: pollsAtAbort });
  });

  it('replaying a write with the same X-Job-UUID returns the original job result', async () => {
    const z = asyncZStack({ runningPolls: 1 });
    const f = await fake(z.handler);
    const c = client(f.baseUrl);
    const req = {
      method: 'PUT' as const,
      path: `/tickets/${TICKET}/actions`,
      body: { changeTicketStatus: {} },
    };
    const first = await c.callAsync(req, { jobUuid: JOB });
    const second = await c.callAsync(req, { jobUuid: JOB });
    expect(second).toEqual(first);
    expect(z.jobs.size).toBe(1);
    expect(f.count('PUT', '/zstack/')).toBe(2);
  });

  it('a duplicate-job-uuid refusal on a sync call is an error (no replay semantics there)', async () => {
    const f = await fake((_req, res) => send(res, 400, `Duplicate job uuid[${JOB}]`));
    const err = await rejection(
      client(f.baseUrl).callSync({ method: 'PUT', path: '/accounts/login', body: {} }, { jobUuid: JOB }),
    );
    expect(err).toMatchObject({ status: 400, reason: 'Duplicate job uuid' });
  });
  // Learning and webhook wake-ups are timing: test/zstack/jobs.test.ts checks them in fake time.
});

describe('getJobState', () => {
  it.each([
    [202, {}, { state: 'running' }],
    [200, { inventory: { uuid: TICKET } }, { state: 'succeeded', result: { inventory: { uuid: TICKET } } }],
    [503, { error: NESTED_ERROR }, { state: 'failed', error: NESTED_ERROR }],
    [404, 'the job has been expired', { state: 'expired' }],
  ])('status %i → %j', async (status, body, expected) => {
    const f = await fake((_req, res) => send(res, status, body));
    expect(await client(f.baseUrl).getJobState(JOB, { session: 's' })).toEqual(expected);
    expect(f.requests[0]?.url).toBe(JOB_PREFIX + JOB);
  });

  it('a 405 is an HTTP error carrying the job uuid', async () => {
    const f = await fake((_req, res) => send(res, 405, 'only GET method is allowed for querying job status'));
    const err = await rejection(client(f.baseUrl).getJobState(JOB));
    expect(err).toMatchObject({ status: 405, jobUuid: JOB });
  });
});
