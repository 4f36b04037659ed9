/**
 * The in-memory ZStack: identities, flow collections, ticket types, tickets and their histories,
 * with the status machine and permissions of protocol section 10.1.
 */
import { addFlow, createFlowCollection, deleteFlow, deleteFlowCollection } from './flows.js';
import type { Row } from './query.js';
import {
  type Account,
  type Actor,
  concreteResourceType,
  type NamedResource,
  type RequestFailure,
  type TicketMeta,
  type User,
  uuidFrom,
  type VirtualId,
} from './records.js';
import { flowRow } from './schemas.js';
import type { Principal } from './sessions.js';
import { changeStatus, createTicket, deleteTicket, updateRequest } from './ticket-lifecycle.js';

export class World {
  accounts = new Map<string, Account>();
  users = new Map<string, User>();
  virtualIds = new Map<string, VirtualId>();
  flowCollections = new Map<string, Row>();
  flows = new Map<string, Row>();
  ticketTypes = new Map<string, Row>();
  tickets = new Map<string, Row>();
  histories = new Map<string, Row>();
  archives = new Map<string, Row>();
  archiveHistories = new Map<string, Row>();
  /** ResourceVO rows of everything without a table here: IAM2 projects, images, offerings, networks, VMs. */
  resources = new Map<string, NamedResource>();
  /** Matched in order; each execution a rule fails uses up one of its `remaining`. */
  requestFailures: RequestFailure[] = [];
  /** Who submitted each ticket, for its permission checks and its archive row. */
  readonly meta = new Map<string, TicketMeta>();
  private counter = 0;
  /**
   * TicketStatusHistoryVO.sequence is `INT AUTO_INCREMENT UNIQUE` (V4.0.0 migration): one counter for
   * the whole table, not a position within one ticket.
   */
  private historySequence = 0;

  /** The next TicketStatusHistoryVO.sequence. */
  nextHistorySequence(): number {
    this.historySequence += 1;
    return this.historySequence;
  }

  /** Seeding swaps in a fixed clock so the demo data is the same on every run. */
  clock: () => number = () => Date.now();

  /** Deterministic, ZStack-shaped (v4, no dashes) uuids: same sequence after every reset. */
  nextUuid(): string {
    return uuidFrom(`zstack-simulator:${this.counter++}`);
  }

  /** ResourceVO's row for a uuid (GetResourceNames); undefined when no resource has it. */
  private resourceRow(uuid: string): NamedResource | undefined {
    const account = this.accounts.get(uuid);
    if (account) return { uuid, name: account.name, type: 'AccountVO' };
    const user = this.users.get(uuid);
    if (user) return { uuid, name: user.name, type: 'UserVO' };
    const vid = this.virtualIds.get(uuid);
    if (vid) return { uuid, name: vid.name, type: 'IAM2VirtualIDVO' };
    const ticket = this.tickets.get(uuid);
    if (ticket) return { uuid, name: ticket.name as string, type: 'TicketVO' };
    // History rows are resources too (V3.1.1 lists TicketStatusHistoryVO among ResourceVO's tables); they have no name.
    if (this.histories.has(uuid)) return { uuid, type: 'TicketStatusHistoryVO' };
    const collection = this.flowCollections.get(uuid);
    if (collection) return { uuid, name: collection.name as string, type: 'TicketFlowCollectionVO' };
    const flow = this.flows.get(uuid);
    if (flow) return { uuid, name: flow.name as string, type: 'TicketFlowVO' };
    const type = this.ticketTypes.get(uuid);
    if (type) return { uuid, name: type.name as string, type: 'TicketTypeVO' };
    return this.resources.get(uuid);
  }

  /**
   * GetResourceNames: `select … from ResourceVO where uuid in (:uuids)`. Unknown uuids are absent and
   * the order is the table's (here: by uuid), not the request's.
   */
  resourceNames(uuids: readonly string[]): Row[] {
    const rows: Row[] = [];
    // MySQL's default collation compares case-insensitively.
    for (const uuid of new Set(uuids.map((u) => u.toLowerCase()))) {
      const row = this.resourceRow(uuid);
      if (row) {
        rows.push({
          uuid: row.uuid,
          resourceName: row.name,
          resourceType: row.type,
          concreteResourceType: concreteResourceType(row.type),
        });
      }
    }
    return rows.sort((a, b) => ((a.uuid as string) < (b.uuid as string) ? -1 : 1));
  }

  actorOf(p: Principal): Actor {
    if (p.kind === 'account') {
      const acc = this.accounts.get(p.uuid);
      return { kind: acc?.admin ? 'admin' : 'account', uuid: p.uuid, accountUuid: p.uuid };
    }
    return { kind: p.kind, uuid: p.uuid, accountUuid: p.accountUuid };
  }

  /** Resolves a uuid of an account, user or virtual ID to an actor (for in-process controls). */
  actorByUuid(uuid: string): Actor | undefined {
    const acc = this.accounts.get(uuid);
    if (acc) return this.actorOf({ kind: 'account', uuid });
    const user = this.users.get(uuid);
    if (user) return { kind: 'user', uuid, accountUuid: user.accountUuid };
    const vid = this.virtualIds.get(uuid);
    if (vid) return { kind: 'virtualId', uuid, accountUuid: vid.accountUuid };
    return undefined;
  }

  // ---- flows ----

  /** A collection's flows in chain order (each flow's parent is the one before it). */
  flowsOf(collectionUuid: string): Row[] {
    const all = [...this.flows.values()].filter((f) => f.collectionUuid === collectionUuid);
    const ordered: Row[] = [];
    let parent: unknown;
    for (;;) {
      const next = all.find((f) => f.parentFlowUuid === parent && !ordered.includes(f));
      if (!next) break;
      ordered.push(next);
      parent = next.uuid;
    }
    return ordered;
  }

  flowCollectionRows(): Row[] {
    return [...this.flowCollections.values()].map((c) => ({
      ...c,
      flows: this.flowsOf(c.uuid as string).map(flowRow),
    }));
  }

  flowRows(): Row[] {
    return [...this.flows.values()].map(flowRow);
  }

  // ---- tickets ----

  ticketRows(): Row[] {
    return [...this.tickets.values()];
  }

  historyRows(ticketUuid?: string): Row[] {
    const rows = [...this.histories.values()];
    return ticketUuid === undefined ? rows : rows.filter((h) => h.ticketUuid === ticketUuid);
  }

  // ---- writes: ticket-lifecycle.ts (tickets), flows.ts (F2, F4, F8, F10) ----

  createTicket(params: Record<string, unknown>, actor: Actor): Row {
    return createTicket(this, params, actor);
  }

  changeStatus(uuid: string, params: Record<string, unknown>, actor: Actor): Row {
    return changeStatus(this, uuid, params, actor);
  }

  updateRequest(uuid: string, params: Record<string, unknown>, actor: Actor): Row {
    return updateRequest(this, uuid, params, actor);
  }

  deleteTicket(uuid: string, actor: Actor): void {
    deleteTicket(this, uuid, actor);
  }

  createFlowCollection(params: Record<string, unknown>, actor: Actor): Row {
    return createFlowCollection(this, params, actor);
  }

  deleteFlowCollection(uuid: string, actor: Actor): void {
    deleteFlowCollection(this, uuid, actor);
  }

  addFlow(params: Record<string, unknown>, actor: Actor): Row {
    return addFlow(this, params, actor);
  }

  deleteFlow(uuid: string, actor: Actor): void {
    deleteFlow(this, uuid, actor);
  }

  archiveRows(): Row[] {
    return [...this.archives.values()];
  }
}
