/** Flow and flow-collection writes (F2, F4, F8, F10): the approval chains tickets go through. */
import type { Row } from './query.js';
import { type Actor, fail, isObject, mandatory, maxLength } from './records.js';
import { flowRow } from './schemas.js';
import type { World } from './world.js';

function requireAdmin(actor: Actor, what: string): void {
  if (actor.kind !== 'admin') {
    fail('ID.1002', `operation denied. Only an admin can ${what}, ${actor.uuid} is not one`);
  }
}

function newFlow(
  world: World,
  params: Record<string, unknown>,
  collectionUuid: string,
  parent: unknown,
  msg: string,
): Row {
  const approverUuid = params.approverUuid;
  if (typeof approverUuid !== 'string') mandatory('approverUuid', msg);
  if (!world.virtualIds.has(approverUuid)) {
    fail(
      'SYS.1003',
      `invalid field[approverUuid], resource[uuid:${approverUuid}, type:IAM2VirtualIDVO] not found`,
    );
  }
  maxLength('name', msg, params.name, 255);
  maxLength('description', msg, params.description, 2048);
  const now = world.clock();
  const uuid = world.nextUuid();
  return {
    uuid,
    name: typeof params.name === 'string' ? params.name : undefined,
    description: typeof params.description === 'string' ? params.description : undefined,
    parentFlowUuid: typeof parent === 'string' ? parent : undefined,
    flowContext: JSON.stringify({ approverUuid }),
    flowContextType: 'IAM2',
    collectionUuid,
    approverUuid,
    valid: true,
    createDate: now,
    lastOpDate: now,
  };
}

/** CreateIAM2TicketFlowCollection: the collection and its flows, chained in the order given. */
export function createFlowCollection(world: World, params: Record<string, unknown>, actor: Actor): Row {
  const msg = 'org.zstack.ticket.iam2.api.APICreateIAM2TicketFlowCollectionMsg';
  if (typeof params.name !== 'string') mandatory('name', msg);
  if (typeof params.projectUuid !== 'string') mandatory('projectUuid', msg);
  maxLength('name', msg, params.name, 255);
  maxLength('description', msg, params.description, 2048);
  requireAdmin(actor, 'create a ticket flow collection');
  const flows = Array.isArray(params.flows) ? params.flows.filter(isObject) : [];
  const now = world.clock();
  const uuid = world.nextUuid();
  const rows: Row[] = [];
  let parent: unknown;
  for (const f of flows) {
    const row = newFlow(world, f, uuid, parent, msg);
    rows.push(row);
    parent = row.uuid;
  }
  const collection: Row = {
    uuid,
    name: params.name,
    description: typeof params.description === 'string' ? params.description : undefined,
    state: 'Enabled',
    status: 'Valid',
    isDefault: params.isDefault === true,
    ticketTypeUuids: Array.isArray(params.ticketTypeUuids) ? params.ticketTypeUuids.map(String) : [],
    projectUuid: params.projectUuid,
    createDate: now,
    lastOpDate: now,
  };
  if (collection.isDefault === true) for (const c of world.flowCollections.values()) c.isDefault = false;
  world.flowCollections.set(uuid, collection);
  for (const r of rows) world.flows.set(r.uuid as string, r);
  return { ...collection, flows: world.flowsOf(uuid).map(flowRow) };
}

function collectionInUse(world: World, uuid: string): boolean {
  return [...world.tickets.values()].some(
    (t) => t.flowCollectionUuid === uuid && t.status !== 'FinalApproved',
  );
}

/** DeleteTicketFlowCollection: refused while an unfinished ticket goes through it. */
export function deleteFlowCollection(world: World, uuid: string, actor: Actor): void {
  if (!world.flowCollections.has(uuid)) {
    fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketFlowCollectionVO] not found`);
  }
  requireAdmin(actor, 'delete a ticket flow collection');
  if (collectionInUse(world, uuid)) {
    fail('SYS.1006', `ticket flow collection[uuid:${uuid}] is used by unfinished tickets`);
  }
  for (const f of world.flowsOf(uuid)) world.flows.delete(f.uuid as string);
  world.flowCollections.delete(uuid);
}

/** AddIAM2TicketFlow: appended after `parentFlowUuid` (default: the last flow), the chain relinked. */
export function addFlow(world: World, params: Record<string, unknown>, actor: Actor): Row {
  const msg = 'org.zstack.ticket.iam2.api.APIAddIAM2TicketFlowMsg';
  const collectionUuid = params.collectionUuid;
  if (typeof collectionUuid !== 'string') mandatory('collectionUuid', msg);
  if (!world.flowCollections.has(collectionUuid)) {
    fail(
      'SYS.1003',
      `invalid field[collectionUuid], resource[uuid:${collectionUuid}, type:TicketFlowCollectionVO] not found`,
    );
  }
  requireAdmin(actor, 'add a ticket flow');
  const chain = world.flowsOf(collectionUuid);
  const parent = typeof params.parentFlowUuid === 'string' ? params.parentFlowUuid : chain.at(-1)?.uuid;
  if (parent !== undefined && !chain.some((f) => f.uuid === parent)) {
    fail(
      'SYS.1003',
      `invalid field[parentFlowUuid], resource[uuid:${String(parent)}, type:TicketFlowVO] not found`,
    );
  }
  const row = newFlow(world, params, collectionUuid, parent, msg);
  const child = chain.find((f) => f.parentFlowUuid === parent);
  if (child) child.parentFlowUuid = row.uuid;
  world.flows.set(row.uuid as string, row);
  return flowRow(row);
}

/** DeleteTicketFlow: its child is relinked to its parent; refused while a ticket waits at it. */
export function deleteFlow(world: World, uuid: string, actor: Actor): void {
  const flow = world.flows.get(uuid);
  if (!flow) fail('SYS.1003', `invalid field[uuid], resource[uuid:${uuid}, type:TicketFlowVO] not found`);
  requireAdmin(actor, 'delete a ticket flow');
  if ([...world.tickets.values()].some((t) => t.currentFlowUuid === uuid && t.status !== 'FinalApproved')) {
    fail('SYS.1006', `ticket flow[uuid:${uuid}] is the current flow of unfinished tickets`);
  }
  for (const f of world.flows.values()) if (f.parentFlowUuid === uuid) f.parentFlowUuid = flow.parentFlowUuid;
  world.flows.delete(uuid);
}
