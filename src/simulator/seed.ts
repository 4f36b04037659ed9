/** Deterministic demo data: the same uuids, names and dates on every run and after every reset. */
import type { Row } from './query.js';
import { type Actor, type NamedResource, sha512Hex, uuidFrom } from './records.js';
import type { DemoData } from './types.js';
import { World } from './world.js';

/** The uuid real ZStack gives its built-in admin account. */
export const ADMIN_UUID = '36c27e8ff05c4780bf6d2fa65700f22e';
const PASSWORD = 'password';
const SEED_EPOCH = Date.UTC(2024, 5, 7, 13, 20, 28);
/** Tickets seeded after the 50 live ones and deleted, so the archives are not empty. */
const ARCHIVED = 3;

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

/**
 * Resources the demo tickets' apiBodys name. Their uuids come from their own labels, not from the
 * world's counter, so every other seeded uuid stays what it always was.
 */
const RESOURCES = {
  ubuntu: ['ubuntu-22.04', 'ImageVO'],
  centos: ['centos-7.9', 'ImageVO'],
  small: ['small-2c4g', 'InstanceOfferingVO'],
  large: ['large-8c16g', 'InstanceOfferingVO'],
  disk: ['data-100g', 'DiskOfferingVO'],
  publicNet: ['public-net', 'L3NetworkVO'],
  privateNet: ['private-net', 'L3NetworkVO'],
  webVm: ['web-1', 'VmInstanceVO'],
  dbVm: ['db-1', 'VmInstanceVO'],
} as const;

function demoResources(world: World): Record<keyof typeof RESOURCES, string> {
  const out = {} as Record<keyof typeof RESOURCES, string>;
  for (const [key, [name, type]] of Object.entries(RESOURCES) as [
    keyof typeof RESOURCES,
    readonly [string, string],
  ][]) {
    const uuid = uuidFrom(`zstack-simulator-resource:${name}`);
    world.resources.set(uuid, { uuid, name, type });
    out[key] = uuid;
  }
  return out;
}

/** The apiBody of demo ticket i (0-based) for its API, naming images, offerings, networks and VMs. */
function demoApiBody(i: number, api: string, r: Record<keyof typeof RESOURCES, string>): Row {
  const n = i + 1;
  if (api.endsWith('APIDestroyVmInstanceMsg')) {
    return { uuid: i % 2 === 0 ? r.webVm : r.dbVm, deleteMode: 'Permissive', systemTags: [] };
  }
  if (api.endsWith('APICreateDataVolumeMsg')) {
    return { name: `data-${n}`, diskOfferingUuid: r.disk, systemTags: [] };
  }
  const big = i % 2 === 1;
  return {
    name: `demo-${n}`,
    instanceOfferingUuid: big ? r.large : r.small,
    imageUuid: big ? r.centos : r.ubuntu,
    l3NetworkUuids: big ? [r.privateNet, r.publicNet] : [r.publicNet],
    defaultL3NetworkUuid: big ? r.privateNet : r.publicNet,
    cpuNum: 2,
    memorySize: 2147483648,
    systemTags: [],
  };
}

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
  world.resources.set(projectUuid, { uuid: projectUuid, name: 'demo-project', type: 'IAM2ProjectVO' });
  const named = demoResources(world);
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
  for (const [i, [name, who]] of [
    ['team-lead-approval', 'team lead'],
    ['operations-approval', 'operations'],
  ].entries()) {
    const approver = approvers[i] as { uuid: string };
    const uuid = world.nextUuid();
    world.flows.set(uuid, {
      uuid,
      name,
      description: `approval by ${who}`,
      parentFlowUuid: parent,
      flowContext: JSON.stringify({ approverUuid: approver.uuid }),
      flowContextType: 'IAM2',
      collectionUuid: flowCollectionUuid,
      approverUuid: approver.uuid,
      valid: true,
      createDate: now,
      lastOpDate: now,
    });
    parent = uuid;
  }

  const asActor = (uuid: string): Actor => ({ kind: 'virtualId', uuid, accountUuid: projectAccountUuid });
  // 50 live tickets, then ARCHIVED more that are deleted again (ZStack archives them).
  const archivedTicketUuids: string[] = [];
  for (let i = 0; i < 50 + ARCHIVED; i++) {
    tick(37);
    const submitter = submitters[i % 2] as { uuid: string };
    const [, api] = TICKET_TYPES[i % TICKET_TYPES.length] as readonly [string, string, string];
    const request: Row = {
      requestName: `request ${i + 1}`,
      apiName: api,
      executeTimes: 1,
      apiBody: demoApiBody(i, api, named),
    };
    const ticket = world.createTicket(
      {
        name: i < 50 ? `demo ticket ${i + 1}` : `old ticket ${i - 49}`,
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
    if (i >= 50) {
      tick(5);
      world.deleteTicket(ticket.uuid as string, asActor(submitter.uuid));
      archivedTicketUuids.push(ticket.uuid as string);
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
    archivedTicketUuids,
    resources: [
      { uuid: projectUuid, name: 'demo-project', type: 'IAM2ProjectVO' },
      ...Object.values(named).map((uuid) => world.resources.get(uuid) as NamedResource),
    ],
    failingTicketUuid: failing?.uuid as string,
  };
}

/** A new World: the demo data when `seed`, else only the admin account every ZStack has. */
export function freshWorld(seed: boolean): { world: World; demo: DemoData } {
  const world = new World();
  if (seed) return { world, demo: seedWorld(world) };
  // Even an empty ZStack has its admin account.
  world.accounts.set(ADMIN_UUID, {
    uuid: ADMIN_UUID,
    name: 'admin',
    passwordHash: sha512Hex('password'),
    admin: true,
  });
  return {
    world,
    demo: {
      admin: { accountName: 'admin', password: 'password', uuid: ADMIN_UUID },
      approvers: [],
      submitters: [],
      projectUuid: '',
      flowCollectionUuid: '',
      ticketTypeUuids: [],
      archivedTicketUuids: [],
      resources: [],
      failingTicketUuid: '',
    },
  };
}
