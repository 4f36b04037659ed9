/** Standalone entry: `npm run simulator` (options from env or flags, flags win). */
import { startSimulator } from './index.js';
import { loadSimulatorOptions } from './options.js';

let options: ReturnType<typeof loadSimulatorOptions>;
try {
  options = loadSimulatorOptions(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`Invalid simulator setting: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const sim = await startSimulator(options);
const demo = sim.controls.demo;
const lines = [
  `ZStack simulator listening on ${sim.url}`,
  `  gateway setting: ZSTACK_URL=${sim.url}`,
  `  sessions expire ${options.sessionTimeoutSec} s after their last use`,
  `  admin account:   ${demo.admin.accountName} / ${demo.admin.password}`,
  // The uuids the README's walk-through uses (PROJECT, ALICE), as the gateway's demo banner prints them.
  ...demo.submitters.map((s) => `  submitter (IAM2 virtual ID): ${s.name} / ${s.password}  (uuid ${s.uuid})`),
  ...demo.approvers.map(
    (a, i) => `  approver of flow ${i + 1} (IAM2 virtual ID): ${a.name} / ${a.password}  (uuid ${a.uuid})`,
  ),
  `  project uuid (accountSystemContext.projectUuid of createTicket): ${demo.projectUuid}`,
  ...(demo.user ? [`  user: ${demo.user.accountName}/${demo.user.userName} / ${demo.user.password}`] : []),
  ...(demo.failingTicketUuid
    ? [`  ticket whose final approval fails (request too big for any host): ${demo.failingTicketUuid}`]
    : []),
  '  passwords go over the wire as lowercase SHA-512 hex',
];
console.log(lines.join('\n'));

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
