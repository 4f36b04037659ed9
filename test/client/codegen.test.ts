import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: simulator rows are untyped
type Any = any;

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/approval-client');
const MANIFEST = join(EXAMPLE, 'src/gql/persisted-documents.json');

interface ClientOutput {
  waiting: number;
  ticket: {
    name: string;
    project: string | null;
    requester: string | null;
    approver: string | null;
    requests: { action: string | null; resources: string[] }[];
  } | null;
  decided: { uuid: string; status: string; lastOpDate: string } | null;
  history?: { fromStatus: string | null; toStatus: string | null; comment: string | null }[];
}

/** Runs the compiled example the way a user would: `node dist/main.js` with settings in the environment. */
async function runClient(env: Record<string, string>): Promise<ClientOutput> {
  const { stdout } = await run(process.execPath, [join(EXAMPLE, 'dist/main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as ClientOutput;
}

// Codegen reads the committed schema.graphql and fails on any operation the schema no longer supports;
// tsc then fails on any use of a field whose type changed. Either way this suite fails.
beforeAll(async () => {
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts'],
    {
      cwd: EXAMPLE,
      timeout: 60_000,
    },
  );
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', EXAMPLE], {
    timeout: 60_000,
  });
}, 120_000);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function pendingUuids(harness: Harness): string[] {
  return harness.simulator.controls
    .listTickets()
    .filter((t) => t.status === 'Pending' || t.status === 'IntermediateApproved')
    .map((t) => t.uuid as string);
}

describe('the codegen approval client', () => {
  it('lists waiting tickets, approves one with a comment and reads its history', async () => {
    h = await startHarness();
    const waiting = pendingUuids(h);
    const out = await runClient({ GATEWAY_URL: h.url, COMMENT: 'ok from codegen' });

    expect(out.waiting).toBe(waiting.length);
    const uuid = out.decided?.uuid as string;
    expect(waiting).toContain(uuid);
    expect(['INTERMEDIATE_APPROVED', 'FINAL_APPROVED']).toContain(out.decided?.status);
    expect(out.history?.at(-1)).toMatchObject({ comment: 'ok from codegen' });

    // The approver sees names: project, requester, current approver and the requested resources.
    const { demo } = h.simulator.controls;
    const listed = h.simulator.controls.getTicket(uuid) as Record<string, Any>;
    expect(out.ticket).toMatchObject({ name: listed.name, project: 'demo-project' });
    expect(demo.submitters.map((s) => s.name)).toContain(out.ticket?.requester);
    expect(demo.approvers.map((a) => a.name)).toContain(out.ticket?.approver);
    expect(out.ticket?.requests[0]?.action).toEqual(
      expect.stringMatching(/^(CreateVmInstance|DestroyVmInstance|CreateDataVolume)$/),
    );
    for (const r of out.ticket?.requests.flatMap((x) => x.resources) ?? []) expect(r).toMatch(/^\w+VO [a-z]/);
    expect((out as { history?: { operator?: { name: string } }[] }).history?.at(-1)?.operator?.name).toBe(
      'admin',
    );

    const puts = h.simulator.controls.requests.filter(
      (r) => r.method === 'PUT' && r.path.includes('/tickets/'),
    );
    expect(puts.map((r) => r.path)).toEqual([`/zstack/v1/tickets/${uuid}/actions`]);
    expect(JSON.parse(puts[0]?.body ?? '{}')).toEqual({
      changeTicketStatus: { statusEvent: 'approve', comment: 'ok from codegen' },
    });
    expect(h.simulator.controls.historyOf(uuid).at(-1)).toMatchObject({ comment: 'ok from codegen' });
  });

  it("reports a refusal by the schema's ErrorCode, typed in the client", async () => {
    h = await startHarness();
    const failed = run(process.execPath, [join(EXAMPLE, 'dist/main.js')], {
      env: { PATH: process.env.PATH ?? '', GATEWAY_URL: h.url, ZSTACK_PASSWORD: 'wrong' },
      timeout: 30_000,
    });
    await expect(failed).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^UNAUTHENTICATED: .*\(log in again\)\n$/),
    });
    expect(h.simulator.controls.count({ method: 'PUT', path: '/v1/tickets/' })).toBe(0);
  });

  it('rejects when asked to', async () => {
    h = await startHarness();
    const out = await runClient({ GATEWAY_URL: h.url, DECISION: 'reject' });
    expect(out.decided?.status).toBe('REJECTED');
    expect(h.simulator.controls.getTicket(out.decided?.uuid as string)?.status).toBe('Rejected');
  });

  it('sends only hashes to a gateway that runs persisted operations only', async () => {
    h = await startHarness({
      env: { PERSISTED_OPERATIONS_FILE: MANIFEST, PERSISTED_OPERATIONS_ONLY: 'true' },
    });
    const out = await runClient({ GATEWAY_URL: h.url, PERSISTED: '1' });
    expect(['INTERMEDIATE_APPROVED', 'FINAL_APPROVED']).toContain(out.decided?.status);
    expect(
      h.simulator.controls.count({ method: 'PUT', path: `/v1/tickets/${out.decided?.uuid}/actions` }),
    ).toBe(1);

    // The same gateway refuses a document sent as text and an unknown hash, before any upstream call.
    h.simulator.controls.clearRequests();
    const text = await h.gql(
      'mutation { logIn(input: { accountName: "admin", password: "password" }) { session { uuid } } }',
    );
    expect(text.errors?.[0]?.message).toBe('PersistedQueryOnly');
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    expect(Object.keys(manifest)).toHaveLength(4);
    expect(h.simulator.controls.requests).toHaveLength(0);
  });

  it('runs both hashes and text when persisted operations are not exclusive', async () => {
    h = await startHarness({ env: { PERSISTED_OPERATIONS_FILE: MANIFEST } });
    const persisted = await runClient({ GATEWAY_URL: h.url, PERSISTED: '1' });
    const text = await runClient({ GATEWAY_URL: h.url });
    expect(persisted.decided?.uuid).toBeDefined();
    expect(text.decided?.uuid).toBeDefined();
    expect(h.simulator.controls.count({ method: 'PUT', path: '/v1/tickets/' })).toBe(2);
  });
});
