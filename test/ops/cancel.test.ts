import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { CHANGE, type OpsHarness, startOps } from './support.js';

// Both signals: ours (CloseSignal and the transport's Attempt) and the bench's A/B row's AbortControllers,
// whose comparison is only fair if they cancel alike.
describe.each([
  { signals: 'CloseSignal and Attempt', abortControllers: false },
  { signals: 'AbortControllers', abortControllers: true },
])('with $signals', ({ abortControllers }) => {
  let h: OpsHarness;
  beforeAll(async () => {
    h = await startOps({ env: { LOG_LEVEL: 'debug' }, abortControllers });
  });
  afterAll(() => h.close());

  const polls = () => h.simulator.controls.count({ path: '/v1/api-jobs/' });

  it('a caller closing its socket mid-mutation stops the job polling at once', async () => {
    const c = h.simulator.controls;
    const session = await h.adminSession();
    const pending = c.listTickets().find((t) => t.status === 'Pending')?.uuid;
    c.setJobLatency(1500);
    c.clearRequests();

    const controller = new AbortController();
    const call = request(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${session}` },
      body: JSON.stringify({
        query: CHANGE,
        variables: { input: { uuid: pending, statusEvent: 'APPROVE' } },
      }),
      signal: controller.signal,
    });
    let early: string | undefined;
    const settled = call.then(
      (res) =>
        res.body.text().then((t) => {
          early = t;
        }),
      () => undefined,
    );
    await waitFor(() => polls() >= 2 || early !== undefined, 'the gateway to poll the job twice');
    expect(early, 'the mutation answered before it could be cancelled').toBeUndefined();
    controller.abort();
    await settled;
    await expect(call).rejects.toThrow();

    // The client reports each wait's end: an aborted wait is the gateway noticing the caller left.
    await waitFor(
      () => h.logs.some((l) => l.includes('"job wait"') && l.includes('"aborted"')),
      'an aborted wait',
    );
    const pollsAtAbort = polls();
    const put = c.requests.find((r) => r.method === 'PUT');
    const jobUuid = c.requests
      .find((r) => r.path.includes('/api-jobs/'))
      ?.path.split('/')
      .pop() as string;
    expect(put).toBeDefined();
    await waitFor(() => c.jobOf(jobUuid)?.state === 'succeeded', 'the job to finish at ZStack', 5000);
    // A poll already on the wire when the caller left may still land; none is sent after. Without the
    // abort, the ~1.5 s job would have drawn several more polls at the growing intervals.
    expect(polls()).toBeLessThanOrEqual(pollsAtAbort + 1);
    // The request line says the caller went away.
    const line = h.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'request' && l.operation === 'Change');
    expect(line?.aborted).toBe(true);
  });
});
