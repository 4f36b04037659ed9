import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every shell block of the README and then of the docs/ pages (in DOCS' order), run as a reader
 * pastes them: in order, in one bash, against
 * `npm start` (the embedded simulator's demo data), with only the gateway's address changed (it
 * listens on a free port). A block is skipped only when the line before it says why
 * (`<!-- readme-test: skip: … -->`: installs, deployments, benchmarks); a stream
 * (`<!-- readme-test: stream -->`) runs for 3 s and must have been answered 200 with its stream type.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The pages whose examples run, in this order: the README's blocks set `$SESSION`, which the docs'
 * blocks reuse. docs/zstack-protocol.md is not here: it describes ZStack's own wire, not the gateway.
 */
const DOCS = [
  'README.md',
  'docs/api.md',
  'docs/subscriptions.md',
  'docs/clients.md',
  'docs/errors.md',
  'docs/configuration.md',
  'docs/operations.md',
  'docs/several-gateways.md',
  'docs/architecture.md',
  'docs/performance.md',
] as const;

interface Block {
  /** The page, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  kind: 'run' | 'stream' | 'skip';
  reason?: string;
  text: string;
}

/** One page's fenced blocks of one language, each with the readme-test marker on the line before. */
function pageBlocks(file: string, languages: RegExp): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed fence`);
    if (languages.test(fence[1] ?? '')) {
      const marker = /^<!-- readme-test: (stream|skip: (.+)) -->$/.exec(lines[i - 1] ?? '');
      blocks.push({
        file,
        line: i + 1,
        kind: marker === null ? 'run' : marker[1] === 'stream' ? 'stream' : 'skip',
        reason: marker?.[2],
        text: lines.slice(i + 1, end).join('\n'),
      });
    }
    i = end;
  }
  return blocks;
}

/** The fenced blocks of one language of every page in DOCS, in that order. */
const fencedBlocks = (languages: RegExp): Block[] => DOCS.flatMap((file) => pageBlocks(file, languages));
const where = (b: Block | undefined) => `${b?.file}:${b?.line}`;

const shellBlocks = fencedBlocks(/^(sh|bash|shell|console)$/);
const walkthrough = shellBlocks.find((b) => b.text.includes('export PROJECT='));
const PROJECT = /^export PROJECT=([0-9a-f]{32})$/m.exec(walkthrough?.text ?? '')?.[1];
const ALICE = /^export ALICE=([0-9a-f]{32})$/m.exec(walkthrough?.text ?? '')?.[1];

/** Spawns `command` in its own process group; `stop()` ends the group. Resolves once `ready` matches. */
async function startUntil(command: string, args: string[], ready: RegExp, cwd: string) {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    detached: true,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const match = await new Promise<RegExpExecArray>((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')}: not ready\n${output}`)),
      30_000,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = ready.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited ${code}\n${output}`));
    });
  });
  return {
    match,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    },
  };
}

let gateway: Awaited<ReturnType<typeof startUntil>>;
let url: string;
let work: string;
beforeAll(async () => {
  gateway = await startUntil('npm', ['start'], /listening: (http:\/\/\S+\/graphql)/, ROOT);
  url = gateway.match[1] as string;
  // The examples' blocks generate and compile files: they run in a copy of the examples (the
  // dependencies linked), so the codegen and Apollo example tests, which use the originals, never race them.
  work = mkdtempSync(join(tmpdir(), 'zstack-graphql-readme-'));
  for (const file of ['package.json', 'schema.graphql']) cpSync(join(ROOT, file), join(work, file));
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  cpSync(join(ROOT, 'examples'), join(work, 'examples'), {
    recursive: true,
    filter: (src) => !/[/\\](dist|gql|node_modules)$/.test(src),
  });
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const at = (address: string) => (text: string) => text.replaceAll('http://127.0.0.1:4000/graphql', address);

describe('the README and docs/, as pasted', () => {
  it('marks every shell block it does not run with a reason', () => {
    expect(shellBlocks.length).toBeGreaterThan(5);
    // The README itself still shows a reader the way in: the approval and the walk-through.
    expect(pageBlocks('README.md', /^sh$/).filter((b) => b.kind === 'run').length).toBeGreaterThanOrEqual(2);
    for (const b of shellBlocks.filter((x) => x.kind === 'skip')) expect(b.reason?.trim()).toBeTruthy();
    // The walk-through and the examples before it are run, not skipped.
    expect(walkthrough?.kind).toBe('run');
  });

  it("npm start's demo banner and the standalone simulator's print the walk-through's uuids", async () => {
    expect(PROJECT).toBeDefined();
    expect(ALICE).toBeDefined();
    expect(gateway.output()).toContain(
      `project uuid (accountSystemContext.projectUuid of createTicket): ${PROJECT}`,
    );
    expect(gateway.output()).toMatch(new RegExp(`virtualIdName: "alice" .*\\(uuid ${ALICE}\\)`));
    const simulator = await startUntil(
      process.execPath,
      ['dist/src/simulator/main.js', '--port', '0'],
      /passwords go over the wire/,
      ROOT,
    );
    try {
      expect(simulator.output()).toContain(`alice / password  (uuid ${ALICE})`);
      expect(simulator.output()).toContain(
        `project uuid (accountSystemContext.projectUuid of createTicket): ${PROJECT}`,
      );
    } finally {
      await simulator.stop();
    }
  });

  it('the simulator README links nothing outside the repository', () => {
    const text = readFileSync(join(ROOT, 'src/simulator/README.md'), 'utf8');
    const refs = [...text.matchAll(/\]\(([^)\s]+)\)|`(\.\.?\/[^`\s]+)`/g)].map((m) => m[1] ?? m[2] ?? '');
    for (const ref of refs.filter((r) => !/^(https?:|#)/.test(r))) {
      const target = resolve(ROOT, 'src/simulator', ref);
      expect(target.startsWith(`${ROOT}/`), ref).toBe(true);
    }
  });

  it('every shell block runs in order in one shell against npm start', async () => {
    const runnable = shellBlocks.filter((b) => b.kind !== 'skip');
    const script = [
      'set -e -o pipefail',
      // A stream runs 3 s (curl's exit 28), its answer's headers kept for the checks below.
      'curl() { if [ -n "$README_STREAM" ]; then command curl --max-time 3 -sS -D "$README_STREAM" "$@" || [ $? -eq 28 ]; else command curl "$@"; fi; }',
      ...runnable.flatMap((b, i) => [
        `echo '@@@ block ${i}'`,
        b.kind === 'stream' ? `README_STREAM=${join(work, `headers-${i}`)}` : 'README_STREAM=',
        at(url)(b.text),
        'echo',
      ]),
    ].join('\n');
    const { stdout } = await run('bash', ['-c', script], {
      cwd: work,
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, README_STREAM: '' },
    });
    const outputs = stdout.split(/^@@@ block \d+\n/m).slice(1);
    expect(outputs).toHaveLength(runnable.length);
    const jsonLines = (i: number) =>
      (outputs[i] ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const indexOf = (needle: string) => runnable.findIndex((b) => b.text.includes(needle));

    // No answer of any block carries an error.
    for (let i = 0; i < runnable.length; i++)
      for (const answer of jsonLines(i)) expect(answer.errors, where(runnable[i])).toBeUndefined();

    // Approving a ticket: logged in, found a pending ticket, approved it (the first of its two steps).
    const approved = jsonLines(indexOf('export TICKET_UUID='));
    expect(approved.at(-1)?.data.changeTicketStatus.ticket.status).toBe('INTERMEDIATE_APPROVED');
    // Reading tickets with that $SESSION.
    expect(jsonLines(indexOf('tickets(first: 5'))[0]?.data.tickets.totalCount).toBeGreaterThan(0);

    // The walk-through: create, two approvals, names, archive.
    const walk = (outputs[runnable.indexOf(walkthrough as Block)] ?? '').trim().split('\n');
    const ticket = /^ticket ([0-9a-f]{32})$/.exec(walk[0] ?? '')?.[1];
    expect(ticket).toBeDefined();
    const answers = walk
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(answers[0].data.changeTicketStatus.ticket.status).toBe('INTERMEDIATE_APPROVED');
    expect(answers[1].data.changeTicketStatus.ticket.status).toBe('FINAL_APPROVED');
    const inContext = answers[2].data.ticket;
    expect(inContext.accountSystemContext).toEqual({
      project: { name: 'demo-project' },
      virtualId: { name: 'alice' },
    });
    expect(inContext.request).toEqual([{ action: 'CreateVmInstance' }]);
    expect(inContext.history.map((r: { operator: { name: string } }) => r.operator.name)).toEqual([
      'alice',
      'carol',
      'dave',
    ]);
    expect(answers[3].data.deleteTicket.deletedTicketUuid).toBe(ticket);
    const archived = answers[4].data.archivedTickets;
    expect(archived.totalCount).toBe(1);
    expect(archived.nodes[0]).toMatchObject({ ticketUuid: ticket, status: 'FINAL_APPROVED' });
    expect(archived.nodes[0].history).toHaveLength(3);

    // The streams were answered, as streams, with the $SESSION of the blocks before them.
    runnable.forEach((b, i) => {
      if (b.kind !== 'stream') return;
      const headers = readFileSync(join(work, `headers-${i}`), 'utf8');
      expect(headers, where(b)).toMatch(/^HTTP\/1\.1 200/);
      expect(headers).toMatch(/^content-type: (text\/event-stream|multipart\/mixed)/im);
    });

    // The typed client example decided a ticket; the Apollo one printed its list.
    const client = jsonLines(indexOf('node dist/main.js'));
    expect(client.at(-1)?.decided?.status).toMatch(/APPROVED$/);
    expect((outputs[indexOf('apollo-approval/dist/main.js')] ?? '').trim()).not.toBe('');
  }, 180_000);

  it('the typed client in a few lines compiles in the example and runs', async () => {
    const snippet = fencedBlocks(/^ts$/).find((b) => b.text.includes('createGatewayClient'));
    expect(snippet).toBeDefined();
    const example = join(work, 'examples/approval-client');
    writeFileSync(join(example, 'src/readme.ts'), at(url)(snippet?.text ?? ''));
    const node = process.execPath;
    await run(node, [join(ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts'], {
      cwd: example,
      timeout: 60_000,
    });
    await run(node, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', example], { timeout: 60_000 });
    const { stdout } = await run(node, [join(example, 'dist/readme.js')], { timeout: 30_000 });
    expect(stdout).toMatch(/status: '(INTERMEDIATE|FINAL)_APPROVED'/);
  }, 150_000);
});
