/**
 * The jit plugin A/B (bench/README.md, "The jit plugin A/B"): CPU per mutation of the gateway's
 * pipeline with our jit plugin (src/plugins/jit.ts) and with @envelop/graphql-jit in its best
 * configuration (src/plugins/jit-envelop.ts), nothing else different. One mutation is what the JSON POST entry does for the bench's `mutation` scenario:
 * yoga.getEnveloped → parse (a cache hit) → validate (a cache hit) → contextFactory → one execute,
 * which runs the real `changeTicketStatus` document of bench/operations.ts through every plugin and
 * the real resolvers, against a stub upstream client whose write answers the ticket at once (a
 * fresh JSON.parse of the bench upstream's ticket, as the real client hands over). No HTTP, no
 * logs: both sides do the same work except the jit plugin's. Rounds alternate A and B.
 *
 * Many short rounds (each a few tens of ms): a round's garbage is mostly collected within it, and
 * the median of the per-round differences shrugs off the rounds another process on the machine
 * disturbed.
 *
 *   nice -n 10 npx tsx bench/ab/jit.ts      # BENCH_AB_ROUNDS=100 BENCH_AB_OPS=400
 */
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../../src/config/index.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { NEVER_ABORTED } from '../../src/http/close-signal.js';
import { createEnvelopJitPlugins } from '../../src/plugins/jit-envelop.js';
import type { ZStackClient } from '../../src/zstack/client.js';
import { fixtureTicketUuid, MUTATION_DOCUMENT, MUTATION_VARIABLES, SESSION_UUID } from '../operations.js';

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 100);
const OPS = Number(process.env.BENCH_AB_OPS ?? 400);
const WARMUP = 2000;

/** The bench upstream's ticket 0 after the approval, as ZStack writes it (bench/upstream.ts). */
const TICKET_JSON = JSON.stringify({
  inventory: {
    uuid: fixtureTicketUuid(0),
    name: 'create vm 0',
    status: 'IntermediateApproved',
    request: [
      {
        requestName: 'create vm',
        apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
        executeTimes: 1.0,
        apiBody: {
          name: 'vm-0',
          instanceOfferingUuid: 'a'.repeat(32),
          imageUuid: 'b'.repeat(32),
          l3NetworkUuids: ['c'.repeat(32)],
          cpuNum: 2.0,
          memorySize: 2147483648.0,
        },
      },
    ],
    accountSystemType: 'IAM2',
    accountSystemContext: { projectUuid: 'd'.repeat(32), virtualIDUuid: 'e'.repeat(32) },
    ticketTypeUuid: 'f'.repeat(32),
    currentFlowUuid: '1'.repeat(32),
    flowCollectionUuid: '2'.repeat(32),
    createDate: 'Jun 7, 2017 1:20:28 PM',
    lastOpDate: 'Jun 7, 2017 1:21:28 PM',
  },
});

const stubClient: ZStackClient = {
  get: async () => ({ inventories: [], total: 0 }) as never,
  callSync: async () => ({}) as never,
  callAsync: async () => JSON.parse(TICKET_JSON),
  getJobState: async () => ({ state: 'running' }),
  sentJob: () => false,
  notifyJobDone: () => {},
  close: async () => {},
};

function gatewayWith(jitPlugin: 'ours' | 'envelop'): Gateway {
  const config = loadConfig({ ZSTACK_TIME_ZONE: 'UTC', LOG_LEVEL: 'silent' });
  return createGateway(
    { ...config, zstackUrl: 'http://127.0.0.1:1/zstack' },
    {
      client: stubClient,
      logging: false,
      envelopJit: jitPlugin === 'envelop' ? createEnvelopJitPlugins : undefined,
    },
  );
}

const req = {
  headers: { authorization: `OAuth ${SESSION_UUID}` },
  socket: { remoteAddress: '127.0.0.1' },
} as unknown as IncomingMessage;
const params = { query: MUTATION_DOCUMENT, variables: MUTATION_VARIABLES };

interface Enveloped {
  schema: unknown;
  parse(source: string): unknown;
  validate(schema: unknown, document: unknown): readonly unknown[];
  contextFactory(): unknown;
  execute(args: unknown): unknown;
}

/** One mutation, as src/http/graphql-post.ts runs it. */
async function mutate(gateway: Gateway): Promise<unknown> {
  const e = gateway.yoga.getEnveloped({
    req,
    params,
    signal: NEVER_ABORTED,
  } as never) as unknown as Enveloped;
  const document = e.parse(params.query);
  if (e.validate(e.schema, document).length > 0) throw new Error('invalid');
  const contextValue = await e.contextFactory();
  return e.execute({
    schema: e.schema,
    document,
    contextValue,
    variableValues: params.variables,
    operationName: undefined,
  });
}

function check(result: unknown, name: string): void {
  const r = result as { data?: { changeTicketStatus?: { ticket?: { uuid?: string } } }; errors?: unknown };
  if (r.errors !== undefined || r.data?.changeTicketStatus?.ticket?.uuid !== fixtureTicketUuid(0))
    throw new Error(`${name}: unexpected answer ${JSON.stringify(result)}`);
}

/** µs of process CPU (user + system) per mutation over `ops` sequential mutations. */
async function round(gateway: Gateway, ops: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < ops; i++) await mutate(gateway);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ops;
}

/** The q-quantile of xs (linear between neighbours); 0.5 is the median. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}
const median = (xs: number[]) => quantile(xs, 0.5);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const impls = { ours: gatewayWith('ours'), envelop: gatewayWith('envelop') };
for (const [name, gateway] of Object.entries(impls)) {
  check(await mutate(gateway), name);
  await round(gateway, WARMUP);
  // Both really ran compiled code: one compiled document in each plugin's cache.
  if (gateway.caches.jit?.size !== 1)
    throw new Error(`${name}: the jit cache holds ${gateway.caches.jit?.size}`);
}

const results: Record<'ours' | 'envelop', number[]> = { ours: [], envelop: [] };
const f = (n: number) => n.toFixed(1).padStart(6);
console.log(
  `jit plugin A/B: ${ROUNDS} rounds × ${OPS} mutations each (one execute per mutation), µs CPU per mutation`,
);
console.log('round   ours  envelop  envelop−ours');
for (let r = 0; r < ROUNDS; r++) {
  // Alternate who goes first, so drift hits both alike.
  const order = r % 2 === 0 ? (['ours', 'envelop'] as const) : (['envelop', 'ours'] as const);
  for (const name of order) results[name].push(await round(impls[name], OPS));
  const a = results.ours[r] as number;
  const b = results.envelop[r] as number;
  console.log(`${String(r + 1).padStart(5)} ${f(a)}   ${f(b)}   ${f(b - a)}`);
}
const diffs = results.ours.map((a, i) => (results.envelop[i] as number) - a);
console.log(
  `median  ${f(median(results.ours))}   ${f(median(results.envelop))}   ${f(median(diffs))}  (median of the per-round differences; quartiles ${quantile(diffs, 0.25).toFixed(1)} / ${quantile(diffs, 0.75).toFixed(1)})`,
);
console.log(`mean    ${f(mean(results.ours))}   ${f(mean(results.envelop))}   ${f(mean(diffs))}`);
for (const gateway of Object.values(impls)) await gateway.close();
