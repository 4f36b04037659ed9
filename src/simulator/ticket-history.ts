/** A ticket's history rows and its archive: what a status change appends and what deleting moves. */
import type { Row } from './query.js';
import type { Actor } from './records.js';
import type { World } from './world.js';

export function appendHistory(
  world: World,
  ticket: Row,
  from: string,
  to: string,
  actor: Actor,
  flowName: unknown,
  comment: unknown,
  context: Record<string, unknown>,
): Row {
  const now = world.clock();
  const sequence = world.nextHistorySequence();
  const row: Row = {
    uuid: world.nextUuid(),
    ticketUuid: ticket.uuid,
    fromStatus: from,
    toStatus: to,
    comment: typeof comment === 'string' ? comment : undefined,
    operationContextType: 'StatusChanged',
    operationContext: context,
    operatorType: actor.kind === 'virtualId' ? 'IAM2VirtualID' : 'Account',
    operatorUuid: actor.uuid,
    flowName,
    sequence,
    createDate: now,
    lastOpDate: now,
  };
  world.histories.set(row.uuid as string, row);
  return row;
}

/** Moves a ticket and its history to the archive tables (what DeleteTicket does once allowed). */
export function archiveTicket(world: World, ticket: Row): void {
  const uuid = ticket.uuid as string;
  const meta = world.meta.get(uuid);
  const archive: Row = {
    ...ticket,
    uuid: world.nextUuid(),
    ticketUuid: uuid,
    accountUuid: meta?.accountUuid,
  };
  world.archives.set(archive.uuid as string, archive);
  for (const h of world.historyRows(uuid)) {
    const archived: Row = {
      ...h,
      uuid: world.nextUuid(),
      historyUuid: h.uuid,
      accountUuid: meta?.accountUuid,
    };
    world.archiveHistories.set(archived.uuid as string, archived);
    world.histories.delete(h.uuid as string);
  }
  world.tickets.delete(uuid);
  world.meta.delete(uuid);
}
