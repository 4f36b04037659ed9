#!/usr/bin/env node
/**
 * The production install and container recipe, checked the only way this machine allows (no Docker
 * engine): this script reads ./Dockerfile and runs its steps itself, each stage in a folder of its
 * own standing for the image's file system (WORKDIR /app → <tmp>/runtime/app), then starts the
 * final stage's CMD with its ENV, NODE_ENV=production and ZSTACK_URL at a simulator (started from
 * this dev tree: `node dist/src/simulator/main.js`, so run `npm run build` first), and checks:
 * every stdout line is JSON, the HEALTHCHECK command passes, /health and /ready answer 200, a
 * mutation (logIn, then changeTicketStatus on a demo Pending ticket) succeeds, no dev dependency
 * or source is in the runtime folder, and SIGTERM exits 0. The final stage runs twice: without
 * GraphiQL (the image's default, no page) and with --build-arg GRAPHIQL=true (the page is served).
 * What it cannot do: switch to USER (it checks the user is named), pull the base image.
 *
 *   node scripts/production-check.mjs            # both variants
 *   node scripts/production-check.mjs --quick    # only the default (no GraphiQL) variant
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const context = resolve(dirname(new URL(import.meta.url).pathname), '..');
const quick = process.argv.includes('--quick');
const STEP_TIMEOUT_MS = 15 * 60_000;
const WAIT_MS = 30_000;

function fail(message) {
  console.error(`production-check: FAILED: ${message}`);
  process.exit(1);
}

/** The Dockerfile's instructions by stage, continuation lines joined, comments dropped. */
function parseDockerfile(text) {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? fail(`cannot read Dockerfile line: ${line}`);
    const instruction = op.toUpperCase();
    if (instruction === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? fail(`FROM ${rest}`);
      stages.push({ image: m[1], name: m[2] ?? String(stages.length), steps: [] });
    } else {
      if (stages.length === 0) fail(`${instruction} before FROM`);
      stages.at(-1).steps.push({ instruction, rest });
    }
  }
  return stages;
}

/** Runs one stage's steps in <work>/<stage name>; returns what the image would keep. */
function runStage(stage, work, roots, buildArgs) {
  const root = join(work, stage.name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  roots[stage.name] = root;
  // HOME (and so npm's cache) inside the stage, as in an image: `npm cache clean` there must not
  // empty this machine's cache.
  mkdirSync(join(root, 'root'), { recursive: true });
  const env = { PATH: process.env.PATH, HOME: join(root, 'root') };
  let cwd = '/';
  const image = { root, env, cwd, user: undefined, cmd: undefined, healthcheck: undefined, exposed: [] };
  const at = (p) => join(root, p.startsWith('/') ? p : join(cwd, p));
  const expand = (s) => s.replace(/\$\{?(\w+)\}?/g, (_m, name) => env[name] ?? '');
  for (const { instruction, rest } of stage.steps) {
    console.log(`production-check: [${stage.name}] ${instruction} ${rest}`);
    switch (instruction) {
      case 'WORKDIR':
        cwd = rest.startsWith('/') ? rest : join(cwd, rest);
        mkdirSync(at(cwd), { recursive: true });
        break;
      case 'ARG': {
        const [name, fallback = ''] = rest.split('=');
        env[name] = buildArgs[name] ?? fallback;
        break;
      }
      case 'ENV': {
        const [name, ...value] = rest.split('=');
        env[name] = expand(value.join('='));
        break;
      }
      case 'COPY': {
        const words = rest.split(/\s+/);
        const from = words[0].startsWith('--from=') ? words.shift().slice('--from='.length) : undefined;
        const dest = words.pop();
        const base =
          from === undefined ? context : (roots[from] ?? fail(`COPY --from=${from}: no such stage`));
        for (const src of words) {
          const source = join(base, src);
          if (!existsSync(source)) fail(`COPY ${src}: not found`);
          const target = dest.endsWith('/') ? join(at(dest), src.split('/').pop()) : at(dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const run = spawnSync('sh', ['-c', rest], {
          cwd: at(cwd),
          env,
          stdio: 'inherit',
          timeout: STEP_TIMEOUT_MS,
        });
        if (run.status !== 0) fail(`[${stage.name}] RUN ${rest} exited ${run.status ?? run.signal}`);
        break;
      }
      case 'USER':
        image.user = rest;
        break;
      case 'EXPOSE':
        image.exposed.push(rest);
        break;
      case 'CMD':
        image.cmd = JSON.parse(rest);
        break;
      case 'HEALTHCHECK': {
        const m = /CMD\s+(\[.*\])\s*$/.exec(rest) ?? fail('HEALTHCHECK must use the exec form CMD [...]');
        image.healthcheck = JSON.parse(m[1]);
        break;
      }
      default:
        fail(`unsupported instruction ${instruction}`);
    }
  }
  image.cwd = cwd;
  return image;
}

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function started(child, pattern, what) {
  let text = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}:\n${text}`)), WAIT_MS);
    const onData = (d) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      text += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`${what}: exited ${code}\n${text}`)));
  });
}

async function gql(base, query, variables, session) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (session) headers.authorization = `OAuth ${session}`;
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) fail(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function sizeMb(path) {
  const du = spawnSync('du', ['-sm', path], { encoding: 'utf8' });
  return Number(du.stdout.split(/\s/)[0]);
}

/** Starts the final stage's CMD as the image would, and checks it end to end. */
async function checkImage(image, simulatorUrl, withGraphiQL) {
  if (!image.cmd) fail('the final stage has no CMD');
  if (!image.healthcheck) fail('the final stage has no HEALTHCHECK');
  if (!image.user || image.user === 'root' || image.user === '0')
    fail('the final stage must set a non-root USER');
  if (image.env.NODE_ENV !== 'production') fail('the final stage must set NODE_ENV=production');
  const app = join(image.root, image.cwd);
  for (const forbidden of [
    'src',
    'test',
    'node_modules/typescript',
    'node_modules/vitest',
    'node_modules/tsx',
    'node_modules/@biomejs',
  ]) {
    if (existsSync(join(app, forbidden))) fail(`the runtime folder holds ${forbidden}`);
  }
  const graphiqlInstalled = existsSync(join(app, 'node_modules/@graphql-yoga/graphiql'));
  if (graphiqlInstalled !== withGraphiQL)
    fail(`GraphiQL installed: ${graphiqlInstalled}, expected ${withGraphiQL}`);

  const port = await freePort();
  const env = { ...image.env, PORT: String(port), HOST: '127.0.0.1', ZSTACK_URL: simulatorUrl };
  const child = spawn(image.cmd[0], image.cmd.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d.toString();
  });
  try {
    await started(child, /"msg":"listening"/, 'the gateway to listen');
    const base = `http://127.0.0.1:${port}`;
    const health = spawnSync(image.healthcheck[0], image.healthcheck.slice(1), {
      cwd: app,
      env,
      timeout: 10_000,
    });
    if (health.status !== 0) fail(`HEALTHCHECK exited ${health.status}`);
    for (const probe of ['/health', '/ready']) {
      const res = await fetch(base + probe);
      if (res.status !== 200) fail(`${probe} answered ${res.status}: ${await res.text()}`);
    }
    const login = await gql(base, 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }', {
      i: { kind: 'ACCOUNT', accountName: 'admin', password: 'password' },
    });
    const session = login.logIn.session.uuid;
    const pending = await gql(
      base,
      '{ tickets(where: { statusIn: [PENDING] }, first: 1) { nodes { uuid } } }',
      {},
      session,
    );
    const uuid = pending.tickets.nodes[0]?.uuid ?? fail('no Pending demo ticket');
    const changed = await gql(
      base,
      'mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { uuid status } } }',
      { i: { uuid, statusEvent: 'APPROVE', comment: 'production check' } },
      session,
    );
    console.log(
      `production-check: changeTicketStatus → ${JSON.stringify(changed.changeTicketStatus.ticket)}`,
    );
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    const served = (await page.text()).includes('graphiql-assets');
    if (served !== withGraphiQL) fail(`GraphiQL page served: ${served}, expected ${withGraphiQL}`);
    const exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, WAIT_MS, 'timeout'))]);
    if (code !== 0) fail(`SIGTERM: exit ${code}`);
    for (const line of stdout.split('\n').filter(Boolean)) {
      try {
        JSON.parse(line);
      } catch {
        fail(`a stdout line is not JSON: ${line}`);
      }
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  return sizeMb(join(app, 'node_modules'));
}

const stages = parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'));
if (!existsSync(join(context, 'dist/src/simulator/main.js')))
  fail('run `npm run build` first (the simulator runs from this tree)');
const work = mkdtempSync(join(tmpdir(), 'zstack-graphql-image-'));
const simulator = spawn(process.execPath, ['dist/src/simulator/main.js', '--port', '0'], {
  cwd: context,
  stdio: ['ignore', 'pipe', 'pipe'],
});
try {
  const [, simulatorUrl] = await started(simulator, /listening on (\S+)/, 'the simulator');
  const roots = {};
  let image;
  for (const stage of stages) image = runStage(stage, work, roots, {});
  const small = await checkImage(image, simulatorUrl, false);
  console.log(`production-check: runtime node_modules without GraphiQL: ${small} MB`);
  if (!quick) {
    const full = await checkImage(
      runStage(stages.at(-1), work, roots, { GRAPHIQL: 'true' }),
      simulatorUrl,
      true,
    );
    console.log(
      `production-check: runtime node_modules with GraphiQL (--build-arg GRAPHIQL=true): ${full} MB`,
    );
  }
  console.log('production-check: passed');
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
} finally {
  simulator.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
