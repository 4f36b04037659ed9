import { createYoga } from 'graphql-yoga';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createJitPlugin, JIT_BYTES_PER_AST_NODE } from '../../src/plugins/jit.js';
import { schema } from '../../src/schema/index.js';
import type { ZStackClient } from '../../src/zstack/client.js';
import { startGateway } from '../helpers/harness.js';

const TICKET = 'b'.repeat(32);
const SESSION = 'a'.repeat(32);

/** A client double whose write answers with `write()`; reads see no tickets. */
function fakeClient(write: () => Promise<unknown>): ZStackClient {
  return {
    get: async () => ({ timezone: 'UTC', inventories: [], total: 0 }) as never,
    callSync: async () => ({ inventory: { uuid: 'c'.repeat(32), accountUuid: 'd'.repeat(32) } }) as never,
    callAsync: write as never,
    getJobState: async () => ({ state: 'running' }),
    sentJob: () => false,
    notifyJobDone: () => {},
    close: async () => {},
  };
}

const WHOLE_TICKET = `ticket { uuid name description status accountSystemType ticketTypeUuid currentFlowUuid
  flowCollectionUuid createDate lastOpDate request { requestName apiName executeTimes apiBody }
  accountSystemContext { projectUuid virtualIDUuid json } }`;

const APPROVE = `mutation Approve($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { clientMutationId ${WHOLE_TICKET} } }`;

const wellFormed = {
  uuid: TICKET,
  name: 't',
  status: 'Pending',
  accountSystemType: 'IAM2',
  createDate: 'Jun 7, 2017 9:20:28 PM',
  lastOpDate: 'Jun 7, 2017 9:21:28 PM',
  request: [{ requestName: 'r', apiName: 'org.zstack.X', executeTimes: 1.0, apiBody: { a: 1.0 } }],
  accountSystemContext: { projectUuid: 'p', virtualIDUuid: 'v' },
};

interface Case {
  name: string;
  write: () => Promise<unknown>;
  query: string;
  variables?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'a whole ticket',
    write: async () => ({ inventory: wellFormed }),
    query: APPROVE,
    variables: { input: { uuid: TICKET, statusEvent: 'APPROVE', clientMutationId: 'm1' } },
  },
  {
    name: 'an unknown status: null with a field error',
    write: async () => ({ inventory: { ...wellFormed, status: 'Escalated' } }),
    query: APPROVE,
    variables: { input: { uuid: TICKET, statusEvent: 'APPROVE' } },
  },
  {
    name: 'a missing non-null field: null propagates up to the nearest nullable field',
    // One missing field: with two, graphql-jit reports both where graphql-js stops at the first
    // (data alike), which this comparison would flag.
    write: async () => ({ inventory: { ...wellFormed, uuid: undefined } }),
    query: APPROVE,
    variables: { input: { uuid: TICKET, statusEvent: 'APPROVE' } },
  },
  {
    name: 'an unexpected error: masked',
    write: async () => {
      throw new TypeError('secret internal detail at /srv/app.js:12');
    },
    query: APPROVE,
    variables: { input: { uuid: TICKET, statusEvent: 'APPROVE' } },
  },
  {
    name: 'a variable of the wrong enum value',
    write: async () => ({ inventory: wellFormed }),
    query: APPROVE,
    variables: { input: { uuid: TICKET, statusEvent: 'NOPE' } },
  },
  {
    name: 'a missing required variable',
    write: async () => ({ inventory: wellFormed }),
    query: APPROVE,
    variables: {},
  },
  {
    name: 'an input whose non-null field has a default, left out (logIn without kind)',
    write: async () => ({}),
    query: 'mutation($input: LogInInput!) { logIn(input: $input) { session { uuid } } }',
    variables: { input: { accountName: 'admin', password: 'password' } },
  },
  {
    name: 'two operations, the second chosen by name',
    write: async () => ({ inventory: wellFormed }),
    query: `query A { __typename } ${APPROVE}`,
    variables: { input: { uuid: TICKET, statusEvent: 'APPROVE' } },
  },
];

async function answer(jit: boolean, c: Case, operationName?: string): Promise<unknown> {
  const served = await startGateway({
    env: { ZSTACK_TIME_ZONE: 'UTC', GRAPHQL_JIT: String(jit) },
    deps: { client: fakeClient(c.write) },
  });
  try {
    const res = await request(served.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${SESSION}` },
      body: JSON.stringify({ query: c.query, variables: c.variables, operationName }),
    });
    return { status: res.statusCode, body: await res.body.json() };
  } finally {
    await served.close();
  }
}

describe('compiled execution answers exactly as graphql-js does', () => {
  it.each(cases)('$name', async (c) => {
    const operationName = c.query.startsWith('query A') ? 'Approve' : undefined;
    const withJit = await answer(true, c, operationName);
    const without = await answer(false, c, operationName);
    expect(withJit).toEqual(without);
  });

  it('the cases really exercise errors, masking and propagation', async () => {
    const masked = (await answer(true, cases[3] as Case)) as { body: { errors: { message: string }[] } };
    expect(masked.body.errors[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(masked)).not.toContain('secret');
    // Ticket.uuid is non-null, and so is everything up to the mutation, which is nullable: the null
    // stops there.
    const propagated = (await answer(true, cases[2] as Case)) as {
      body: { data: unknown; errors: { path: unknown[]; message: string }[] };
    };
    expect(propagated.body.data).toEqual({ changeTicketStatus: null });
    expect(propagated.body.errors[0]?.path).toEqual(['changeTicketStatus', 'ticket', 'uuid']);
    expect(propagated.body.errors[0]?.message).toBe('Unexpected error.');
  });
});

describe('createJitPlugin', () => {
  function yogaWith(
    events: { operationName: string | undefined; compiled: boolean }[],
    maxBytes = 64 * 1024 * 1024,
  ) {
    return createYoga({
      schema,
      logging: false,
      plugins: [createJitPlugin({ maxBytes, onCompile: (e) => events.push(e) })],
      context: () => ({ session: undefined, client: fakeClient(async () => ({})) }),
    });
  }
  async function run(yoga: ReturnType<typeof yogaWith>, query: string, variables?: unknown) {
    const res = await yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return res.json();
  }

  it('compiles a document once and reuses it', async () => {
    const events: { operationName: string | undefined; compiled: boolean }[] = [];
    const yoga = yogaWith(events);
    for (let i = 0; i < 3; i++)
      expect(await run(yoga, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    expect(events).toEqual([{ operationName: undefined, compiled: true }]);
  });

  it('keeps compiled documents within maxBytes, dropping the least recently used', async () => {
    const events: { operationName: string | undefined; compiled: boolean }[] = [];
    // `query A { __typename }` is 6 AST nodes: a budget of two such documents.
    const yoga = yogaWith(events, 2 * 6 * JIT_BYTES_PER_AST_NODE);
    for (const q of ['query A { __typename }', 'query B { __typename }', 'query A { __typename }'])
      await run(yoga, q);
    expect(events).toHaveLength(2);
    await run(yoga, 'query C { __typename }'); // evicts B, the least recently used
    await run(yoga, 'query A { __typename }');
    expect(events).toHaveLength(3);
    await run(yoga, 'query B { __typename }');
    expect(events).toHaveLength(4);
  });

  it('leaves operations with defaulted required inputs to graphql-js', async () => {
    const events: { operationName: string | undefined; compiled: boolean }[] = [];
    const yoga = yogaWith(events);
    await run(yoga, 'mutation($input: LogInInput!) { logIn(input: $input) { session { uuid } } }', {
      input: { password: 'p' },
    });
    expect(events).toEqual([{ operationName: undefined, compiled: false }]);
  });
});
