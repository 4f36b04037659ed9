/** The ticket, flow, resource-name and platform APIs: one definition each, over the World. */
import { type ApiDef, type Ctx, mandatory, queryApi } from './api-def.js';
import { type Row, renderRow } from './query.js';
import type { Actor } from './records.js';
import { offsetString } from './render.js';
import {
  ARCHIVE_HISTORY_SCHEMA,
  ARCHIVE_TICKET_SCHEMA,
  FLOW_COLLECTION_SCHEMA,
  FLOW_SCHEMA,
  HISTORY_SCHEMA,
  TICKET_SCHEMA,
  TICKET_TYPE_SCHEMA,
} from './schemas.js';

function ticketReply(ctx: Ctx, ticket: Row): Row {
  return { inventory: renderRow(TICKET_SCHEMA, ticket, ctx.core.timeZone) };
}

export const createTicket: ApiDef = {
  async: true,
  auth: true,
  paramName: 'params',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) => ticketReply(ctx, ctx.core.world.createTicket(ctx.params, ctx.actor as Actor)),
};

export const changeTicketStatus: ApiDef = {
  async: true,
  auth: true,
  paramName: 'changeTicketStatus',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) =>
    ticketReply(ctx, ctx.core.world.changeStatus(ctx.vars.uuid ?? '', ctx.params, ctx.actor as Actor)),
};

export const updateTicketRequest: ApiDef = {
  async: true,
  auth: true,
  paramName: 'updateTicketRequest',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) =>
    ticketReply(ctx, ctx.core.world.updateRequest(ctx.vars.uuid ?? '', ctx.params, ctx.actor as Actor)),
};

export const deleteTicket: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteTicket(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

export const platformTimeZone: ApiDef = {
  async: false,
  auth: true,
  run: ({ core }) => ({
    success: true,
    timezone: core.timeZone,
    offset: offsetString(Date.now(), core.timeZone),
  }),
};

export const queryTickets = queryApi(TICKET_SCHEMA, (c) => c.world.ticketRows());
export const queryHistories = queryApi(HISTORY_SCHEMA, (c) => c.world.historyRows());
export const queryTypes = queryApi(TICKET_TYPE_SCHEMA, (c) => [...c.world.ticketTypes.values()]);
export const queryCollections = queryApi(FLOW_COLLECTION_SCHEMA, (c) => c.world.flowCollectionRows());
export const queryFlows = queryApi(FLOW_SCHEMA, (c) => c.world.flowRows());

const MSG_RESOURCE_NAMES = 'org.zstack.header.vo.APIGetResourceNamesMsg';

/** GetResourceNames: every `uuids=` value (a list field takes them all); none at all is SYS.1007. */
export const getResourceNames: ApiDef = {
  async: false,
  auth: true,
  // JsonSchemaBuilder names each element of a list of org.zstack objects (APIGetResourceNamesReply).
  schemaOf: (out) =>
    Object.fromEntries(
      (out.inventories as unknown[]).map((_, i) => [
        `inventories[${i}]`,
        'org.zstack.header.vo.ResourceInventory',
      ]),
    ),
  run: ({ core, query }) => {
    const uuids = query.filter(([k]) => k === 'uuids').map(([, v]) => v);
    if (uuids.length === 0) mandatory('uuids', MSG_RESOURCE_NAMES);
    return { inventories: core.world.resourceNames(uuids) };
  },
};

/** JsonSchemaBuilder's map for `{inventory: <collection with flows>}`. */
function collectionSchema(out: Row): Record<string, string> {
  const schema: Record<string, string> = {};
  const flows = (out.inventory as Row | undefined)?.flows;
  if (Array.isArray(flows)) {
    flows.forEach((_, i) => {
      schema[`inventory.flows[${i}]`] = FLOW_SCHEMA.className;
    });
  }
  schema.inventory = FLOW_COLLECTION_SCHEMA.className;
  return schema;
}

export const createFlowCollection: ApiDef = {
  async: true,
  auth: true,
  paramName: 'params',
  schemaOf: collectionSchema,
  run: (ctx) => ({
    inventory: renderRow(
      FLOW_COLLECTION_SCHEMA,
      ctx.core.world.createFlowCollection(ctx.params, ctx.actor as Actor),
      ctx.core.timeZone,
    ),
  }),
};

export const deleteFlowCollection: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteFlowCollection(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

export const addFlow: ApiDef = {
  async: true,
  auth: true,
  paramName: 'params',
  inventoryClass: FLOW_SCHEMA.className,
  run: (ctx) => ({
    inventory: renderRow(
      FLOW_SCHEMA,
      ctx.core.world.addFlow(ctx.params, ctx.actor as Actor),
      ctx.core.timeZone,
    ),
  }),
};

export const deleteFlow: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteFlow(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

export const queryArchivedTickets = queryApi(ARCHIVE_TICKET_SCHEMA, (c) => c.world.archiveRows());
export const queryArchivedHistories = queryApi(ARCHIVE_HISTORY_SCHEMA, (c) => [
  ...c.world.archiveHistories.values(),
]);
