/**
 * Measures the abuse cases of issue 12 (findings 1, 3 and 6) against the app as served:
 * `npx tsx scripts/measure-limits.ts [bomb|chain|dodge|docs] [documents]`. Prints JSON lines.
 * A measurement tool for the report, not a test: nothing here passes or fails.
 */
import { performance } from 'node:perf_hooks';
import { getIntrospectionQuery } from 'graphql';
import { request } from 'undici';
import { startGateway } from '../test/helpers/harness.js';

const which = new Set(process.argv.slice(2).filter((a) => !/^\d+$/.test(a)));
const documents = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
const all = which.size === 0;
const mb = (n: number) => Math.round(n / 1024 / 1024);

// The gateway's limit settings may be given in this process's environment (e.g. a larger
// GRAPHQL_MAX_DOCUMENT_BYTES, so that 1 MB documents are parsed rather than refused).
const limitEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] => /^(GRAPHQL_|MAX_|JSON_)/.test(e[0]) && e[1] !== undefined,
  ),
);
const served = await startGateway({ env: { LOG_LEVEL: 'silent', ZSTACK_TIME_ZONE: 'UTC', ...limitEnv } });
const { url, base, simulator } = served;

async function post(query: string, variables?: Record<string, unknown>, session?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (session) headers.authorization = `OAuth ${session}`;
  const t0 = performance.now();
  const res = await request(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.body.text();
  return { ms: Math.round(performance.now() - t0), bytes: text.length, text };
}

/** The slowest /health answer while `work` runs. */
async function healthDuring<T>(work: Promise<T>): Promise<{ result: T; worstHealthMs: number }> {
  let done = false;
  let worst = 0;
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      const res = await request(`${base}/health`);
      await res.body.text();
      worst = Math.max(worst, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await work;
  done = true;
  await probe;
  return { result, worstHealthMs: Math.round(worst) };
}

const errorsOf = (text: string) => {
  try {
    return ((JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }).errors ?? []).map(
      (e) => e.extensions?.code,
    );
  } catch {
    return ['(not JSON)'];
  }
};

if (all || which.has('bomb')) {
  const full = getIntrospectionQuery({ descriptions: true });
  const fragments = full.slice(full.indexOf('fragment FullType'));
  const bomb = `query Bomb { ${Array.from({ length: 50 }, (_, i) => `s${i}: __schema { types { ...FullType } }`).join(' ')} } ${fragments}`;
  const rss0 = process.memoryUsage().rss;
  const { result, worstHealthMs } = await healthDuring(post(bomb));
  console.log(
    JSON.stringify({
      case: 'introspection bomb (50 aliases of __schema { types { ...FullType } })',
      requestBytes: bomb.length,
      answerBytes: result.bytes,
      ms: result.ms,
      worstHealthMs,
      rssBeforeMB: mb(rss0),
      rssAfterMB: mb(process.memoryUsage().rss),
      codes: errorsOf(result.text),
    }),
  );
}

if (all || which.has('chain')) {
  let inner = 'name';
  for (let i = 0; i < 600; i++) inner = `ofType { ${inner} }`;
  const chain = `{ __schema { types { ${inner} } } }`;
  const res = await post(chain);
  console.log(
    JSON.stringify({
      case: '600-level ofType chain',
      answerBytes: res.bytes,
      ms: res.ms,
      codes: errorsOf(res.text),
    }),
  );
}

if (all || which.has('dodge')) {
  const { admin } = simulator.controls.demo;
  const login = await post('mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }', {
    i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password },
  });
  const session = JSON.parse(login.text).data.logIn.session.uuid as string;
  const fields = `uuid name status request { apiName apiBody } history { toStatus comment createDate }
    ticketType { uuid name } flowCollection { uuid name flows { uuid name } }`;
  const dodge = `query Dodge($n: Int!) { ${Array.from({ length: 50 }, (_, i) => `t${i}: tickets(first: $n) { nodes { ...F } }`).join(' ')} }
    fragment F on Ticket { ${fields} }`;
  const literal = dodge.replace('($n: Int!)', '').replaceAll('$n', '500');
  for (const [name, query, variables] of [
    ['variables (first: $n, n = 500)', dodge, { n: 500 }],
    ['literal (first: 500)', literal, undefined],
  ] as const) {
    simulator.controls.clearRequests();
    const res = await post(query, variables, session);
    let rows = 0;
    try {
      const data =
        (JSON.parse(res.text) as { data?: Record<string, { nodes: unknown[] }> | null }).data ?? {};
      for (const v of Object.values(data)) rows += v?.nodes?.length ?? 0;
    } catch {}
    console.log(
      JSON.stringify({
        case: `cost dodge, 50 aliases of tickets: ${name}`,
        ticketsInSimulator: simulator.controls.listTickets().length,
        rows,
        upstreamCalls: simulator.controls.requests.length,
        answerBytes: res.bytes,
        ms: res.ms,
        codes: errorsOf(res.text).slice(0, 3),
      }),
    );
  }
}

if (all || which.has('docs')) {
  // Distinct documents of about 1 MB: a distinct comment pads each (a comment is no token).
  const pad = `#${'x'.repeat(1000 * 1000 - 64)}\n`;
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let worst = 0;
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < documents; i++) {
    const res = await post(`# ${i}\n${pad}{ __typename }`);
    if (!res.text.includes('"__typename"')) failed++;
    if (i % 50 === 0) {
      const h0 = performance.now();
      await (await request(`${base}/health`)).body.text();
      worst = Math.max(worst, performance.now() - h0);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  global.gc?.();
  console.log(
    JSON.stringify({
      case: `${documents} distinct ~1 MB documents`,
      rssBeforeMB: mb(rss0),
      rssPeakMB: mb(Math.max(peak, process.memoryUsage().rss)),
      rssAfterMB: mb(process.memoryUsage().rss),
      heapUsedMB: mb(process.memoryUsage().heapUsed),
      notAnswered: failed,
      worstHealthMs: Math.round(worst),
      seconds: Math.round((performance.now() - t0) / 1000),
    }),
  );
}

await served.close();
