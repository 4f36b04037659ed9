import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ZStackClient } from '../../src/zstack/client.js';
import { startGateway } from '../helpers/harness.js';

/** A client double for outcomes the simulator cannot produce through its own API. */
function fakeClient(write: () => Promise<unknown>): ZStackClient {
  return {
    get: async () => ({ timezone: 'UTC' }) as never,
    callSync: async () => ({}) as never,
    callAsync: write as never,
    getJobState: async () => ({ state: 'running' }),
    sentJob: () => false,
    notifyJobDone: () => {},
    close: async () => {},
  };
}

/** The served app with `client` as its upstream, answering one approval. */
async function run(client: ZStackClient) {
  const served = await startGateway({ env: { ZSTACK_TIME_ZONE: 'UTC' }, deps: { client } });
  try {
    const res = await request(served.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${'a'.repeat(32)}` },
      body: JSON.stringify({
        query: `mutation { changeTicketStatus(input: { uuid: "${'b'.repeat(32)}", statusEvent: APPROVE }) {
        ticket { uuid name status createDate } } }`,
      }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: test data walks untyped GraphQL results
    return (await res.body.json()) as any;
  } finally {
    await served.close();
  }
}

describe('what callers see of unusual outcomes', () => {
  it('an unknown ticket status is null with a field error; the rest of the ticket arrives', async () => {
    const body = await run(
      fakeClient(async () => ({
        inventory: {
          uuid: 'b'.repeat(32),
          name: 't',
          status: 'Escalated',
          createDate: 'Jun 7, 2017 9:20:28 PM',
        },
      })),
    );
    expect(body.data.changeTicketStatus.ticket).toEqual({
      uuid: 'b'.repeat(32),
      name: 't',
      status: null,
      createDate: '2017-06-07T21:20:28.000Z',
    });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].path).toEqual(['changeTicketStatus', 'ticket', 'status']);
    expect(body.errors[0].extensions.code).toBe('UPSTREAM_ERROR');
    expect(body.errors[0].message).toContain('Escalated');
  });

  it('an unexpected error is masked: no message, no stack', async () => {
    const body = await run(
      fakeClient(async () => {
        throw new TypeError('secret internal detail at /srv/app.js:12');
      }),
    );
    expect(body.errors[0].message).toBe('Unexpected error.');
    expect(body.errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(body)).not.toContain('secret');
  });
});
