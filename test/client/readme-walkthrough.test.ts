import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';

const run = promisify(execFile);

/** The README's walk-through exactly as a reader pastes it, with only the gateway's address changed. */
function walkthrough(url: string): string {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(
    readme,
  )?.[1];
  if (block === undefined) throw new Error('README.md has no walk-through block');
  const fixed = block.replace(/^export GW=.*$/m, `export GW=${url}`);
  if (fixed === block) throw new Error('the walk-through sets no GW');
  return fixed;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

it('the README walk-through runs as pasted: create, two approvals, names, archive', async () => {
  const script = walkthrough(h.url);
  // The uuids it exports are the demo banner's.
  const { demo } = h.simulator.controls;
  expect(script).toContain(`export PROJECT=${demo.projectUuid}`);
  expect(script).toContain(`export ALICE=${demo.submitters.find((s) => s.name === 'alice')?.uuid}`);

  const { stdout } = await run('bash', ['-e', '-o', 'pipefail', '-c', script], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  const ticket = /^ticket ([0-9a-f]{32})$/.exec(lines[0] ?? '')?.[1];
  expect(ticket).toBeDefined();
  const answers = lines.slice(1).map((l) => JSON.parse(l));
  for (const a of answers) expect(a.errors).toBeUndefined();
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
});
