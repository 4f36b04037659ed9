/**
 * The REST layer: ZStack's URL mapping, header checks, body conventions, sync replies and async jobs
 * (RestServer.handle/handleApi/handleJobQuery), plus one handler per simulated API.
 */
import { randomUUID } from 'node:crypto';
import { finishedBody, type JobOutcome, type JobStore } from './jobs.js';
import {
  parseQueryRequest,
  parseQueryString,
  type QueryRequest,
  type QuerySchema,
  type Row,
  renderRow,
  runQuery,
} from './query.js';
import { ApiError, errorBody, gsonStringify, offsetString, RestError, zoneOffsetMs } from './render.js';
import { type Principal, type Session, type SessionStore, sessionInventory } from './sessions.js';
import {
  type Actor,
  ARCHIVE_HISTORY_SCHEMA,
  ARCHIVE_TICKET_SCHEMA,
  FLOW_COLLECTION_SCHEMA,
  FLOW_SCHEMA,
  HISTORY_SCHEMA,
  TICKET_SCHEMA,
  TICKET_TYPE_SCHEMA,
  type World,
} from './tickets.js';

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

interface Ctx {
  core: Core;
  vars: Record<string, string>;
  params: Record<string, unknown>;
  query: [string, string][];
  session?: Session;
  actor?: Actor;
  prepared?: QueryRequest;
}

interface ApiDef {
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

const SESSION_CLASS = 'org.zstack.header.identity.SessionInventory';

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function mandatory(field: string, msg: string): never {
  throw new ApiError('SYS.1007', `field[${field}] of message[${msg}] is mandatory, can not be null`);
}

function loginReply(core: Core, principal: Principal): Row {
  const s = core.sessions.create(principal);
  return { inventory: renderRow(SESSION_SCHEMA, sessionInventory(s), core.timeZone) };
}

const SESSION_SCHEMA: QuerySchema = {
  className: SESSION_CLASS,
  fields: { createDate: 'date', expiredDate: 'date' },
};

function queryApi(schema: QuerySchema, rows: (core: Core) => Row[]): ApiDef {
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

function ticketReply(ctx: Ctx, ticket: Row): Row {
  return { inventory: renderRow(TICKET_SCHEMA, ticket, ctx.core.timeZone) };
}

const MSG_LOGIN_ACCOUNT = 'org.zstack.header.identity.APILogInByAccountMsg';
const MSG_LOGIN_USER = 'org.zstack.header.identity.APILogInByUserMsg';
const MSG_LOGIN_VID = 'org.zstack.iam2.api.APILoginIAM2VirtualIDMsg';
const MSG_RENEW = 'org.zstack.header.identity.APIRenewSessionMsg';

const logInByAccount: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logInByAccount',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const name = str(params.accountName);
    const password = str(params.password);
    if (name === undefined) mandatory('accountName', MSG_LOGIN_ACCOUNT);
    if (password === undefined) mandatory('password', MSG_LOGIN_ACCOUNT);
    const acc = [...core.world.accounts.values()].find((a) => a.name === name);
    // Compared as stored: the client must send the lowercase SHA-512 hex, not the plaintext.
    if (!acc || acc.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong account name or password');
    return loginReply(core, { kind: 'account', uuid: acc.uuid });
  },
};

const logInByUser: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logInByUser',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const userName = str(params.userName);
    const password = str(params.password);
    if (userName === undefined) mandatory('userName', MSG_LOGIN_USER);
    if (password === undefined) mandatory('password', MSG_LOGIN_USER);
    const accountUuid = str(params.accountUuid);
    const accountName = str(params.accountName);
    const acc = [...core.world.accounts.values()].find((a) =>
      accountUuid !== undefined ? a.uuid === accountUuid : a.name === accountName,
    );
    const user =
      acc && [...core.world.users.values()].find((u) => u.accountUuid === acc.uuid && u.name === userName);
    if (!user || user.passwordHash !== password) {
      throw new ApiError('ID.1000', 'wrong account or username or password');
    }
    return loginReply(core, { kind: 'user', uuid: user.uuid, accountUuid: user.accountUuid });
  },
};

const loginIAM2VirtualID: ApiDef = {
  async: false,
  auth: false,
  paramName: 'loginIAM2VirtualID',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const name = str(params.name);
    const password = str(params.password);
    if (name === undefined) mandatory('name', MSG_LOGIN_VID);
    if (password === undefined) mandatory('password', MSG_LOGIN_VID);
    const vid = [...core.world.virtualIds.values()].find((v) => v.name === name);
    if (!vid || vid.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong virtual ID name or password');
    return loginReply(core, { kind: 'virtualId', uuid: vid.uuid, accountUuid: vid.accountUuid });
  },
};

const logOut: ApiDef = {
  async: false,
  auth: false,
  run: ({ core, vars }) => {
    core.sessions.logout(vars.uuid ?? '');
    return {};
  },
};

const validateSession: ApiDef = {
  async: false,
  auth: false,
  run: ({ core, vars }) => ({ valid: core.sessions.isValid(vars.uuid ?? '') }),
};

const renewSession: ApiDef = {
  async: true,
  auth: true,
  paramName: 'renewSession',
  inventoryClass: SESSION_CLASS,
  run: ({ core, vars, params }) => {
    const duration = params.duration;
    if (duration !== undefined && duration !== null) {
      if (
        typeof duration !== 'number' ||
        !Number.isInteger(duration) ||
        duration < 60 ||
        duration > 31536000
      ) {
        throw new ApiError(
          'SYS.1007',
          `field[duration] of message[${MSG_RENEW}] must be in range of [60, 31536000], but ${String(duration)} found`,
        );
      }
    }
    const s = core.sessions.renew(vars.uuid ?? '', typeof duration === 'number' ? duration : undefined);
    return { inventory: renderRow(SESSION_SCHEMA, sessionInventory(s), core.timeZone) };
  },
};

const createTicket: ApiDef = {
  async: true,
  auth: true,
  paramName: 'params',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) => ticketReply(ctx, ctx.core.world.createTicket(ctx.params, ctx.actor as Actor)),
};

const changeTicketStatus: ApiDef = {
  async: true,
  auth: true,
  paramName: 'changeTicketStatus',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) =>
    ticketReply(ctx, ctx.core.world.changeStatus(ctx.vars.uuid ?? '', ctx.params, ctx.actor as Actor)),
};

const updateTicketRequest: ApiDef = {
  async: true,
  auth: true,
  paramName: 'updateTicketRequest',
  inventoryClass: TICKET_SCHEMA.className,
  run: (ctx) =>
    ticketReply(ctx, ctx.core.world.updateRequest(ctx.vars.uuid ?? '', ctx.params, ctx.actor as Actor)),
};

const deleteTicket: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteTicket(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

const platformTimeZone: ApiDef = {
  async: false,
  auth: true,
  run: ({ core }) => ({
    success: true,
    timezone: core.timeZone,
    offset: offsetString(Date.now(), core.timeZone),
  }),
};

const queryTickets = queryApi(TICKET_SCHEMA, (c) => c.world.ticketRows());
const queryHistories = queryApi(HISTORY_SCHEMA, (c) => c.world.historyRows());
const queryTypes = queryApi(TICKET_TYPE_SCHEMA, (c) => [...c.world.ticketTypes.values()]);
const queryCollections = queryApi(FLOW_COLLECTION_SCHEMA, (c) => c.world.flowCollectionRows());
const queryFlows = queryApi(FLOW_SCHEMA, (c) => c.world.flowRows());

const MSG_RESOURCE_NAMES = 'org.zstack.header.vo.APIGetResourceNamesMsg';

/** GetResourceNames: every `uuids=` value (a list field takes them all); none at all is SYS.1007. */
const getResourceNames: ApiDef = {
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

const createFlowCollection: ApiDef = {
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

const deleteFlowCollection: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteFlowCollection(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

const addFlow: ApiDef = {
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

const deleteFlow: ApiDef = {
  async: true,
  auth: true,
  run: (ctx) => {
    ctx.core.world.deleteFlow(ctx.vars.uuid ?? '', ctx.actor as Actor);
    return {};
  },
};

const MSG_LOGIN = 'org.zstack.header.identity.login.APILogInMsg';

/**
 * The generic LogIn (APILogInMsg, `PUT /v1/login`, action `logIn`): LoginManagerImpl picks the backend
 * by `loginType`. Only `account` (AccountLoginBackend, open source) is simulated; any other type is
 * LoginManagerImpl's `unsupported login type` (SYS.1006).
 */
const logIn: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logIn',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const username = str(params.username);
    const password = str(params.password);
    const loginType = str(params.loginType);
    if (username === undefined) mandatory('username', MSG_LOGIN);
    if (password === undefined) mandatory('password', MSG_LOGIN);
    if (loginType === undefined) mandatory('loginType', MSG_LOGIN);
    if (loginType !== 'account') throw new ApiError('SYS.1006', `unsupported login type ${loginType}`);
    const acc = [...core.world.accounts.values()].find((a) => a.name === username);
    if (!acc || acc.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong account name or password');
    return loginReply(core, { kind: 'account', uuid: acc.uuid });
  },
};

interface Route {
  segments: string[];
  variables: number;
  apis: { method: string; api: ApiDef }[];
}

function route(pattern: string, ...apis: [string, ApiDef][]): Route {
  const segments = pattern.split('/').slice(1);
  return {
    segments,
    variables: segments.filter((s) => s.startsWith('{')).length,
    apis: apis.map(([method, api]) => ({ method, api })),
  };
}

// Literal paths win over patterns (e.g. /v1/tickets/histories over /v1/tickets/{uuid}).
const ROUTES: Route[] = [
  route('/v1/login', ['PUT', logIn]),
  route('/v1/accounts/login', ['PUT', logInByAccount]),
  route('/v1/accounts/users/login', ['PUT', logInByUser]),
  route('/v1/iam2/virtual-ids/login', ['PUT', loginIAM2VirtualID]),
  route('/v1/accounts/sessions/{uuid}', ['DELETE', logOut]),
  route('/v1/accounts/sessions/{uuid}/valid', ['GET', validateSession]),
  route('/v1/accounts/sessions/{uuid}/renew', ['PUT', renewSession]),
  route('/v1/tickets', ['POST', createTicket], ['GET', queryTickets]),
  route('/v1/tickets/{uuid}', ['GET', queryTickets], ['DELETE', deleteTicket]),
  route('/v1/tickets/{uuid}/actions', ['PUT', changeTicketStatus], ['PUT', updateTicketRequest]),
  route('/v1/tickets/histories', ['GET', queryHistories]),
  route('/v1/tickets/histories/{uuid}', ['GET', queryHistories]),
  route('/v1/tickets/archives', ['GET', queryApi(ARCHIVE_TICKET_SCHEMA, (c) => c.world.archiveRows())]),
  route('/v1/tickets/histories/archives', [
    'GET',
    queryApi(ARCHIVE_HISTORY_SCHEMA, (c) => [...c.world.archiveHistories.values()]),
  ]),
  route('/v1/ticket-types', ['GET', queryTypes]),
  route('/v1/ticket-types/{uuid}', ['GET', queryTypes]),
  route('/v1/tickets/flow-collections', ['POST', createFlowCollection], ['GET', queryCollections]),
  route('/v1/tickets/flow-collections/{uuid}', ['GET', queryCollections], ['DELETE', deleteFlowCollection]),
  route('/v1/tickets/flow', ['POST', addFlow], ['GET', queryFlows]),
  route('/v1/tickets/flow/{uuid}', ['GET', queryFlows], ['DELETE', deleteFlow]),
  route('/v1/management-nodes/platform-timezone', ['GET', platformTimeZone]),
  route('/v1/resources/names', ['GET', getResourceNames]),
].sort((a, b) => a.variables - b.variables);

function matchRoute(v1Path: string): { route: Route; vars: Record<string, string> } | undefined {
  const parts = v1Path.split('/').slice(1);
  for (const r of ROUTES) {
    if (r.segments.length !== parts.length) continue;
    const vars: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = r.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{')) {
        if (part === '') ok = false;
        else vars[seg.slice(1, -1)] = decodeURIComponent(part);
      } else ok = seg === part;
    }
    if (ok) return { route: r, vars };
  }
  return undefined;
}

/** ZStack's web application is deployed under this context path (RESTFacade.path). */
export const CONTEXT_PATH = '/zstack';

/**
 * A path outside the context never reaches ZStack: the servlet container (Tomcat) answers with its
 * own HTML error page.
 */
function containerNotFound(path: string): Outcome {
  return containerError(
    404,
    'Not Found',
    'The origin server did not find a current representation for the target resource or is not willing to disclose that one exists.',
    path,
  );
}

/** Tomcat's error report page (its exact markup is INFERRED). */
function containerError(status: number, reason: string, description: string, message = ''): Outcome {
  const title = `HTTP Status ${status} – ${reason}`;
  return {
    status,
    html:
      `<!doctype html><html lang="en"><head><title>${title}</title></head><body><h1>${title}</h1>` +
      `<hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> ${escapeHtml(message)}</p>` +
      `<p><b>Description</b> ${description}</p>` +
      '<hr class="line" /><h3>Apache Tomcat</h3></body></html>',
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function json(status: number, value: unknown, htmlEscape: boolean): Outcome {
  return { status, json: gsonStringify(value, htmlEscape) };
}

function parseBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new RestError(500, `com.google.gson.JsonSyntaxException: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RestError(
      500,
      'com.google.gson.JsonSyntaxException: java.lang.IllegalStateException: Expected BEGIN_OBJECT',
    );
  }
  return parsed as Record<string, unknown>;
}

const WRITE_METHODS = ['POST', 'PUT', 'DELETE'];

/**
 * RestServer.handleNonUniqueApi (L759-809): the method picks the API; a method with no API on the path
 * is a 500 naming the request URI (context path included), HEAD a 405.
 */
function nonUniqueApi(r: Route, req: Incoming, parse: () => Record<string, unknown>): ApiDef {
  const byMethod = (m: string, what: string): ApiDef => {
    const found = r.apis.find((a) => a.method === m);
    if (!found) throw new RestError(500, `No ${what} API found for the path[${req.path}]`);
    return found.api;
  };
  switch (req.method) {
    case 'POST':
      return byMethod('POST', 'creational');
    case 'PUT': {
      const body = parse();
      const found = r.apis.find(
        (a) => a.method === 'PUT' && a.api.paramName !== undefined && a.api.paramName in body,
      );
      if (!found) {
        const v1 = req.path.slice(CONTEXT_PATH.length);
        throw new RestError(400, `the body doesn't contain action mapping to the URL[${v1}]`);
      }
      return found.api;
    }
    case 'GET':
      return byMethod('GET', 'query');
    case 'DELETE':
      return byMethod('DELETE', 'delete');
    default:
      throw new RestError(405, `The method[${req.method}] is not allowed for the path[${req.path}]`);
  }
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RestServer.checkTime (L1026-1045): `EEE, dd MMM yyyy HH:mm:ss z`, within 15 minutes of the server's
 * wall clock; with rest.checkTimeZone off (the default) the zone is ignored. Which zone names Java's
 * `z` accepts is approximated (letters, optionally with an offset).
 */
function checkDate(core: Core, date: string | undefined): void {
  if (date === undefined) throw new RestError(400, "'Date' must be incuded in request header");
  const m =
    /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]+(?:[+-]\d{1,2}(?::?\d{2})?)?)$/.exec(
      date,
    );
  const month = m ? MONTHS.indexOf(m[3] as string) : -1;
  if (!m || !DAYS.includes(m[1] as string) || month < 0) {
    throw new RestError(400, "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'");
  }
  const wall = Date.UTC(Number(m[4]), month, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  const now = Date.now();
  const nowWall = now + zoneOffsetMs(now, core.timeZone);
  if (Math.abs(wall - nowWall) > 15 * 60_000) throw new RestError(403, 'requestTimeTooSkewed');
}

/**
 * RestServer.handleApi's Authorization check (L864-902); returns the session uuid to evaluate. An
 * empty `OAuth` value is an empty session uuid, which session evaluation finds expired. Access keys
 * (`ZStack <id>:<signature>`) pass the header checks, then find no backend: the verifier is closed
 * source and the simulator has none.
 */
function authenticate(core: Core, req: Incoming): string {
  const raw = req.headers.authorization;
  if (raw === undefined) throw new RestError(400, "missing header 'Authorization'");
  const auth = raw.trim();
  if (auth.startsWith('OAuth')) return auth.replace('OAuth', '').trim();
  if (auth.startsWith('ZStack')) {
    checkDate(core, req.headers.date);
    if (auth.replace('ZStack', '').trim().split(':').length !== 2) {
      throw new RestError(400, "accessKey format is 'ZStack AccessKeyId:Signature'");
    }
    throw new RestError(400, 'unable to find RestAuthenticationBackend[provider type: ZStack]');
  }
  throw new RestError(400, "Authorization type must be 'OAuth'");
}

function locationHost(core: Core, headers: Record<string, string>): string {
  return core.advertisedHost ?? headers.host ?? core.listenHost;
}

function pollJob(core: Core, req: Incoming, uuid: string): Outcome {
  if (req.method !== 'GET')
    return { status: 405, text: 'only GET method is allowed for querying job status' };
  const job = core.jobs.get(uuid);
  if (!job) return { status: 404, text: 'the job has been expired' };
  if (job.state === 'running') return { status: 202, json: '{}' };
  const json = finishedBody(job, req.headers['x-json-schema'] !== undefined);
  return { status: job.state === 'failed' ? 503 : 200, json };
}

/**
 * Answers one request the way ZStack's RestServer does. `forcedError` (a fault) replaces the API's
 * own work: the request still goes through the REST layer and, for an async API, becomes a failed job.
 */
export function dispatch(core: Core, req: Incoming, forcedError?: ApiError): Outcome {
  try {
    return dispatchOrThrow(core, req, forcedError);
  } catch (e) {
    if (e instanceof RestError) return { status: e.status, text: e.message };
    if (e instanceof ApiError) return json(503, errorBody(e.errorCode), false);
    return { status: 500, text: e instanceof Error ? e.message : String(e) };
  }
}

/** The methods RestServerController maps on `/v1/**`; Spring answers any other itself. */
const MAPPED_METHODS = ['POST', 'PUT', 'DELETE', 'GET', 'HEAD'];

/** Spring 5.2 (ZStack's pom.xml) for a method no mapping declares: OPTIONS is answered, the rest is 405. */
function springUnmapped(method: string): Outcome {
  const allow = MAPPED_METHODS.join(',');
  // RequestMappingInfoHandlerMapping's HttpOptionsHandler: 200, an Allow header, no body.
  if (method === 'OPTIONS') return { status: 200, text: '', headers: { Allow: `${allow},OPTIONS` } };
  // HttpRequestMethodNotSupportedException → DefaultHandlerExceptionResolver → sendError(405): the
  // container's error page.
  return {
    ...containerError(
      405,
      'Method Not Allowed',
      'The method received in the request-line is known by the origin server but not supported by the target resource.',
    ),
    headers: { Allow: allow },
  };
}

/** AntPathMatcher's `/v1/**` also matches `/v1` itself. */
function isMapped(v1: string): boolean {
  return v1 === '/v1' || v1.startsWith('/v1/');
}

function dispatchOrThrow(core: Core, req: Incoming, forcedError?: ApiError): Outcome {
  if (!req.path.startsWith(`${CONTEXT_PATH}/`)) return containerNotFound(req.path);
  const v1 = req.path.slice(CONTEXT_PATH.length);
  // Only `/v1/**` is mapped (RestServerController): anything else is the container's own 404.
  if (!isMapped(v1)) return containerNotFound(req.path);
  if (!MAPPED_METHODS.includes(req.method)) return springUnmapped(req.method);
  if (v1.startsWith('/v1/api-jobs/')) return pollJob(core, req, v1.slice('/v1/api-jobs/'.length));

  const matched = matchRoute(v1);
  if (!matched) throw new RestError(404, `no api mapping to ${v1}`);
  const { route: r, vars } = matched;

  let body: Record<string, unknown> | undefined;
  let api: ApiDef;
  const only = r.apis.length === 1 ? r.apis[0] : undefined;
  if (only) {
    // A path served by one API ignores the method (RestServer's unique-path quirk).
    api = only.api;
  } else {
    api = nonUniqueApi(r, req, () => {
      body = parseBody(req.body);
      return body;
    });
  }

  let sessionUuid = '';
  if (api.auth) sessionUuid = authenticate(core, req);

  if (req.method === 'POST' || req.method === 'PUT') body ??= parseBody(req.body);
  body ??= {};

  const jobHeader = req.headers['x-job-uuid'];
  if (jobHeader !== undefined) {
    if (jobHeader.length !== 32) {
      throw new RestError(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped");
    }
    if (WRITE_METHODS.includes(req.method) && core.jobs.has(jobHeader)) {
      throw new RestError(400, `Duplicate job uuid[${jobHeader}]`);
    }
  }

  const params: Record<string, unknown> = {};
  if (api.paramName !== undefined && body[api.paramName] !== undefined && body[api.paramName] !== null) {
    const inner = body[api.paramName];
    if (typeof inner !== 'object' || Array.isArray(inner)) {
      throw new RestError(
        500,
        'com.google.gson.JsonSyntaxException: java.lang.IllegalStateException: Expected BEGIN_OBJECT',
      );
    }
    Object.assign(params, inner);
  }
  // Top-level tags are applied after the param object, so they win; URL variables win over both.
  for (const tag of ['systemTags', 'userTags']) if (body[tag] !== undefined) params[tag] = body[tag];
  Object.assign(params, vars);

  const ctx: Ctx = { core, vars, params, query: parseQueryString(req.query) };
  api.prepare?.(ctx);

  const work = (): JobOutcome => {
    if (api.auth) {
      ctx.session = core.sessions.evaluate(sessionUuid);
      ctx.actor = core.world.actorOf(ctx.session.principal);
    }
    if (forcedError) throw forcedError;
    const out = api.run(ctx);
    const schema = api.schemaOf
      ? api.schemaOf(out)
      : api.inventoryClass
        ? { inventory: api.inventoryClass }
        : {};
    return { body: out, schema };
  };

  if (!api.async) {
    const { body: out, schema } = work();
    // writeResponse (L1227): X-JSON-Schema asks for `schema` on any reply; a query reply has its own.
    if (req.headers['x-json-schema'] !== undefined && !('schema' in out)) {
      return json(200, { schema, ...out }, true);
    }
    return json(200, out, true);
  }

  const jobUuid = jobHeader ?? randomUUID().replace(/-/g, '');
  core.jobs.create(jobUuid, work, {
    webhook: req.headers['x-web-hook'],
    jsonSchema: req.headers['x-json-schema'] !== undefined,
  });
  const timeoutSec = Number(req.headers['x-api-timeout']);
  const apiTimeout = Number.isInteger(timeoutSec) && timeoutSec > 0 ? timeoutSec * 1000 : 300000;
  return json(
    202,
    {
      location: `http://${locationHost(core, req.headers)}${CONTEXT_PATH}/v1/api-jobs/${jobUuid}`,
      apiTimeout,
    },
    true,
  );
}
