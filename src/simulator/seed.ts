/** Deterministic demo data: the same uuids, names and dates on every run and after every reset. */
import type { Row } from './query.js';
import { type Actor, sha512Hex, type World } from './tickets.js';
import type { DemoData } from './types.js';

/** The uuid real ZStack gives its built-in admin account. */
export const ADMIN_UUID = '36c27e8ff05c4780bf6d2fa65700f22e';
const PASSWORD = 'password';
const SEED_EPOCH = Date.UTC(2024, 5, 7, 13, 20, 28);

type Step = ['approve' | 'reject' | 'cancel' | 'reopen', 'approver' | 'submitter'];

// Ticket i follows SCRIPTS[i % 10]: together they leave tickets in every status.
const SCRIPTS: Step[][] = [
  [],
  [['approve', 'approver']],
  [
    ['approve', 'approver'],
    ['approve', 'approver'],
  ],
  [['reject', 'approver']],
  [['cancel', 'submitter']],
  [
    ['approve', 'approver'],
    ['reject', 'approver'],
  ],
  [
    ['reject', 'approver'],
    ['reopen', 'submitter'],
  ],
  [
    ['cancel', 'submitter'],
    ['reopen', 'submitter'],
    ['approve', 'approver'],
  ],
  [
    ['approve', 'approver'],
    ['cancel', 'submitter'],
  ],
  [
    ['reject', 'approver'],
    ['reopen', 'submitter'],
    ['approve', 'approver'],
    ['approve', 'approver'],
  ],
];

const TICKET_TYPES = [
  ['CREATE_VM_INSTANCE_TICKET_TYPE', 'org.zstack.header.vm.APICreateVmInstanceMsg', 'create a VM instance'],
  [
    'DESTROY_VM_INSTANCE_TICKET_TYPE',
    'org.zstack.header.vm.APIDestroyVmInstanceMsg',
    'destroy a VM instance',
  ],
  ['CREATE_VOLUME_TICKET_TYPE', 'org.zstack.header.volume.APICreateDataVolumeMsg', 'create a data volume'],
] as const;

export function seedWorld(world: World): DemoData {
  let now = SEED_EPOCH;
  const tick = (minutes: number) => {
    now += minutes * 60_000;
  };
  const savedClock = world.clock;
  world.clock = () => now;
  const hash = sha512Hex(PASSWORD);

  world.accounts.set(ADMIN_UUID, { uuid: ADMIN_UUID, name: 'admin', passwordHash: hash, admin: true });
  const projectAccountUuid = world.nextUuid();
  world.accounts.set(projectAccountUuid, {
    uuid: projectAccountUuid,
    name: 'demo-project',
    passwordHash: sha512Hex(`${PASSWORD}-${projectAccountUuid}`),
    admin: false,
  });
  const projectUuid = world.nextUuid();
  const userAccountUuid = world.nextUuid();
  world.accounts.set(userAccountUuid, {
    uuid: userAccountUuid,
    name: 'demo',
    passwordHash: hash,
    admin: false,
  });
  const userUuid = world.nextUuid();
  world.users.set(userUuid, {
    uuid: userUuid,
    name: 'ops',
    accountUuid: userAccountUuid,
    passwordHash: hash,
  });

  const vid = (name: string) => {
    const uuid = world.nextUuid();
    world.virtualIds.set(uuid, { uuid, name, passwordHash: hash, accountUuid: projectAccountUuid });
    return { name, password: PASSWORD, uuid };
  };
  const submitters = [vid('alice'), vid('bob')];
  const approvers = [vid('carol'), vid('dave')];

  const ticketTypeUuids: string[] = [];
  for (const [name, api, what] of TICKET_TYPES) {
    const uuid = world.nextUuid();
    ticketTypeUuids.push(uuid);
    world.ticketTypes.set(uuid, {
      uuid,
      name,
      description: `ask for approval to ${what}`,
      type: 'IAM2',
      requests: api,
      adminOnly: false,
      createDate: now,
      lastOpDate: now,
    });
  }

  const flowCollectionUuid = world.nextUuid();
  world.flowCollections.set(flowCollectionUuid, {
    uuid: flowCollectionUuid,
    name: 'two-step-approval',
    description: 'team lead, then operations',
    state: 'Enabled',
    status: 'Valid',
    isDefault: true,
    ticketTypeUuids: [...ticketTypeUuids],
    projectUuid,
    createDate: now,
    lastOpDate: now,
  });
  let parent: string | undefined;
  for (const [i, [name, title]] of [
    ['team-lead-approval', 'Team lead'],
    ['operations-approval', 'Operations'],
  ].entries()) {
    const approver = approvers[i] as { uuid: string };
    const uuid = world.nextUuid();
    world.flows.set(uuid, {
      uuid,
      name,
      description: `approval by ${title?.toLowerCase()}`,
      parentFlowUuid: parent,
      flowContext: JSON.stringify({ approverUuid: approver.uuid }),
      flowContextType: 'IAM2',
      collectionUuid: flowCollectionUuid,
      approverUuid: approver.uuid,
      approverTitle: title,
      createDate: now,
      lastOpDate: now,
    });
    parent = uuid;
  }

  const asActor = (uuid: string): Actor => ({ kind: 'virtualId', uuid, accountUuid: projectAccountUuid });
  for (let i = 0; i < 50; i++) {
    tick(37);
    const submitter = submitters[i % 2] as { uuid: string };
    const [, api] = TICKET_TYPES[i % TICKET_TYPES.length] as readonly [string, string, string];
    const request: Row = {
      requestName: `request ${i + 1}`,
      apiName: api,
      executeTimes: 1,
      apiBody: { name: `demo-${i + 1}`, cpuNum: 2, memorySize: 2147483648, systemTags: [] },
    };
    const ticket = world.createTicket(
      {
        name: `demo ticket ${i + 1}`,
        description: i % 3 === 0 ? undefined : `seeded ticket number ${i + 1}`,
        requests: [request],
        accountSystemType: 'iam2',
        accountSystemContext: { projectUuid, virtualIDUuid: submitter.uuid },
      },
      asActor(submitter.uuid),
    );
    for (const [event, who] of SCRIPTS[i % SCRIPTS.length] as Step[]) {
      tick(5);
      const flow = world.flows.get(ticket.currentFlowUuid as string);
      const actorUuid = who === 'submitter' ? submitter.uuid : (flow?.approverUuid as string);
      world.changeStatus(
        ticket.uuid as string,
        { statusEvent: event, comment: `${event} by ${who}` },
        asActor(actorUuid),
      );
    }
  }
  // Demo ticket 22 (CREATE_VM, script [approve]) waits for dave's final approval and asks for a VM no
  // host can take: approving it fails as ZStack reports a failed request (SYS.1006 caused by
  // HOST_ALLOCATION.1000) and leaves the ticket as it is.
  const failing = [...world.tickets.values()].find((t) => t.name === 'demo ticket 22');
  const failingRequest = (failing?.request as Row[] | undefined)?.[0];
  if (failingRequest) failingRequest.apiBody = { ...(failingRequest.apiBody as Row), cpuNum: 128 };
  world.clock = savedClock;

  return {
    admin: { accountName: 'admin', password: PASSWORD, uuid: ADMIN_UUID },
    approvers,
    submitters,
    user: { accountName: 'demo', userName: 'ops', password: PASSWORD, uuid: userUuid },
    projectUuid,
    flowCollectionUuid,
    ticketTypeUuids,
    failingTicketUuid: failing?.uuid as string,
  };
}
