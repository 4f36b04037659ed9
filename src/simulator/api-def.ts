/** The shapes every simulated API shares: the server's state, a request, a reply, one API's definition. */
import type { JobStore } from './jobs.js';
import { parseQueryRequest, type QueryRequest, type QuerySchema, type Row, runQuery } from './query.js';
import type { Actor } from './records.js';
import { ApiError } from './render.js';
import type { Session, SessionStore } from './sessions.js';
import type { World } from './world.js';

export interface Core {
  world: World;
  sessions: SessionStore;
  jobs: JobStore;
  timeZone: string;
  advertisedHost: string | undefined;
  /** host:port the server listens on, for when neither advertisedHost nor Host is known. */
  listenHost: string;
}

export interface Incoming {
  method: string;
  /** Full path without query, e.g. /zstack/v1/tickets. */
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
}

export type Outcome = (
  | { status: number; text: string }
  | { status: number; json: string }
  /** The servlet container's own error page; it always names its Content-Type. */
  | { status: number; html: string }
) & { headers?: Record<string, string> };

export interface Ctx {
  core: Core;
  vars: Record<string, string>;
  params: Record<string, unknown>;
  query: [string, string][];
  session?: Session;
  actor?: Actor;
  prepared?: QueryRequest;
}

export interface ApiDef {
  async: boolean;
  auth: boolean;
  /** The body key holding the API's fields: 'params' for POST, the action name for PUT. */
  paramName?: string;
  /** Java class of the `inventory` in the reply, for X-JSON-Schema. */
  inventoryClass?: string;
  /** The reply's `schema` map (JsonSchemaBuilder) when it is more than `inventory` → inventoryClass. */
  schemaOf?: (out: Row) => Record<string, string>;
  /** REST-layer parsing that fails with a plain-text 4xx before any session check. */
  prepare?: (ctx: Ctx) => void;
  run: (ctx: Ctx) => Row;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function mandatory(field: string, msg: string): never {
  throw new ApiError('SYS.1007', `field[${field}] of message[${msg}] is mandatory, can not be null`);
}

export function queryApi(schema: QuerySchema, rows: (core: Core) => Row[]): ApiDef {
  return {
    async: false,
    auth: true,
    prepare: (ctx) => {
      // The /{uuid} form only adds `uuid = {uuid}` and ignores every other parameter.
      const uuid = ctx.vars.uuid;
      ctx.prepared =
        uuid !== undefined ? parseQueryRequest([['q', `uuid=${uuid}`]]) : parseQueryRequest(ctx.query);
    },
    run: (ctx) => runQuery(schema, rows(ctx.core), ctx.prepared as QueryRequest, ctx.core.timeZone),
  };
}
