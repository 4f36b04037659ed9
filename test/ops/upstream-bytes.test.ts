/**
 * Bytes bounded both ways, end to end: a small request that would make a huge upstream body (one
 * variable referenced 200 times) is refused before any call; an upstream answer over
 * ZSTACK_MAX_RESPONSE_BYTES is refused with its code, and the gateway goes on serving.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { ErrorCode } from '../../src/errors.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const MIB = 1024 * 1024;
let h: Harness;
let alice: string;
let admin: string;

beforeAll(async () => {
  h = await startHarness({
    env: {
      ZSTACK_TIME_ZONE: 'UTC',
      ZSTACK_MAX_RESPONSE_BYTES: String(MIB),
      ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION: String(MIB),
    },
  });
  const { submitters, admin: a } = h.simulator.controls.demo;
  const s = submitters[0] as { name: string; password: string };
  alice = await h.logIn({ kind: 'IAM2_VIRTUAL_ID', virtualIdName: s.name, password: s.password });
  admin = await h.logIn({ kind: 'ACCOUNT', accountName: a.accountName, password: a.password });
});
afterAll(() => h.close());
beforeEach(() => {
  h.simulator.controls.reset();
});

const writes = () => h.simulator.controls.requests.filter((r) => r.method !== 'GET');

/** createTicket whose requests list `refs` times the one variable $b. */
function amplified(refs: number): string {
  const entries = Array.from(
    { length: refs },
    () => '{apiName: "org.zstack.header.vm.APICreateVmInstanceMsg", apiBody: $b}',
  );
  return `mutation($b: JSON!, $ctx: JSON!, $key: String) { createTicket(input: {
    name: "big", accountSystemType: "iam2", accountSystemContext: $ctx, idempotencyKey: $key,
    requests: [${entries.join(',')}] }) { ticket { uuid } } }`;
}

function variables(valueBytes: number, key?: string) {
  const { projectUuid, submitters } = h.simulator.controls.demo;
  return {
    b: { name: 'vm', pad: 'x'.repeat(valueBytes) },
    ctx: { projectUuid, virtualIDUuid: (submitters[0] as { uuid: string }).uuid },
    key,
  };
}

describe('ZSTACK_MAX_REQUEST_BYTES', () => {
  it.each([undefined, 'replay-key'])(
    'one 256 KiB variable referenced 200 times (idempotency key %s) is refused, and nothing reaches ZStack',
    async (key) => {
      // Under JSON_MAX_BYTES (256 KiB) as one variable; 51 MB as the body ZStack would get.
      const res = await h.gql(amplified(200), variables(256 * 1024 - 100, key), { session: alice });
      expect(res.data).toEqual({ createTicket: null });
      expect(res.errors?.[0]?.extensions).toEqual({
        code: ErrorCode.UPSTREAM_REQUEST_TOO_LARGE,
        limitBytes: 1024 * 1024,
      });
      expect(res.errors?.[0]?.message).toBe(
        'The call to ZStack would carry more than 1048576 bytes; nothing was sent.',
      );
      expect(writes()).toEqual([]);
    },
  );

  it('the same variable referenced 3 times (under 1 MiB) is created', async () => {
    const res = await h.gql<{ createTicket: { ticket: { uuid: string } } }>(
      amplified(3),
      variables(256 * 1024 - 100),
      { session: alice },
    );
    expect(res.errors).toBeUndefined();
    expect(writes().filter((r) => r.method === 'POST')).toHaveLength(1);
  });
});

describe('ZSTACK_MAX_RESPONSE_BYTES', () => {
  it('an upstream answer over the bound is refused with its code; the gateway goes on', async () => {
    const [big, other] = h.simulator.controls.listTickets() as { uuid: string }[];
    if (!big || !other) throw new Error('the demo data has tickets');
    h.simulator.controls.setTicketField(big.uuid, 'description', 'x'.repeat(1200 * 1024));
    const read = 'query($a: ID!) { a: ticket(uuid: $a) { uuid description } }';
    const res = await h.gql(read, { a: big.uuid }, { session: admin });
    expect(res.errors?.[0]?.extensions).toEqual({
      code: ErrorCode.UPSTREAM_RESPONSE_TOO_LARGE,
      scope: 'call',
      limitBytes: 1024 * 1024,
    });
    expect(res.errors?.[0]?.message).toBe("ZStack's answer is larger than 1048576 bytes; it was not read.");
    // Refused, not retried: one GET for it.
    expect(h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' })).toBe(1);
    const again = await h.gql<{ a: { uuid: string } }>(read, { a: other.uuid }, { session: admin });
    expect(again.errors).toBeUndefined();
    expect(again.data?.a.uuid).toBe(other.uuid);
  });
});

describe('ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION', () => {
  it('answers that each fit but together pass the bound: the one that would pass it is refused unread', async () => {
    const [t1, t2] = h.simulator.controls.listTickets() as { uuid: string }[];
    if (!t1 || !t2) throw new Error('the demo data has tickets');
    h.simulator.controls.setTicketField(t1.uuid, 'description', 'x'.repeat(600 * 1024));
    h.simulator.controls.setTicketField(t2.uuid, 'description', 'y'.repeat(600 * 1024));
    const both = `query($a: [ID!], $b: [ID!]) {
      a: tickets(where: { uuidIn: $a }) { nodes { uuid description } }
      b: tickets(where: { uuidIn: $b }) { nodes { uuid description } }
    }`;
    const res = await h.gql(both, { a: [t1.uuid], b: [t2.uuid] }, { session: admin });
    expect(res.errors?.map((e) => e.extensions)).toEqual([
      { code: ErrorCode.UPSTREAM_RESPONSE_TOO_LARGE, scope: 'operation', limitBytes: MIB },
    ]);
    expect(res.errors?.[0]?.message).toBe(
      "ZStack's answers to this operation would pass 1048576 bytes; this one was not read.",
    );
    expect(h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' })).toBe(2);
    // The budget is the operation's: the next one reads a big ticket again.
    const one = await h.gql<{ b: { nodes: { uuid: string }[] } }>(
      both,
      { a: [], b: [t2.uuid] },
      { session: admin },
    );
    expect(one.errors).toBeUndefined();
    expect(one.data?.b.nodes[0]?.uuid).toBe(t2.uuid);
  });
});

describe('configuration', () => {
  it('defaults: 1 MiB sent, 16 MiB read per call, 32 MiB per operation, 1 MiB per Redis message', () => {
    const c = loadConfig({});
    expect([c.zstackMaxRequestBytes, c.zstackMaxResponseBytes, c.zstackMaxResponseBytesPerOperation]).toEqual(
      [MIB, 16 * MIB, 32 * MIB],
    );
    expect(c.redisMaxMessageBytes).toBe(MIB);
  });

  it.each([
    [
      { ZSTACK_MAX_RESPONSE_BYTES: String(512 * 1024) },
      'ZSTACK_MAX_RESPONSE_BYTES (524288) must not be below ZSTACK_MAX_REQUEST_BYTES (1048576)',
    ],
    [
      { ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION: String(8 * MIB) },
      'ZSTACK_MAX_RESPONSE_BYTES_PER_OPERATION (8388608) must not be below ZSTACK_MAX_RESPONSE_BYTES (16777216)',
    ],
    [
      { REDIS_MAX_MESSAGE_BYTES: '1000' },
      'REDIS_MAX_MESSAGE_BYTES must be between 131072 and 536870912, got "1000"',
    ],
    [{ ZSTACK_MAX_REQUEST_BYTES: '1MB' }, 'ZSTACK_MAX_REQUEST_BYTES must be a whole number, got "1MB"'],
  ])('%j is refused at start', (env, problem) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContain(problem);
  });
});
