import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { fixtureUuid, HISTORIES_PER_TICKET, TICKET_COUNT } from './operations.js';

/**
 * A fixed-response upstream speaking ZStack's REST protocol, fast enough that it is never what a
 * benchmark measures: fixture JSON is rendered once, GET answers are cached per URL, and the only
 * per-request work is the job table. It shares no code with src/ (it is the other side of the wire).
 */

export interface UpstreamOptions {
  port?: number;
  host?: string;
  /** Time from the PUT until the job's first 200; 0 means the first poll finds it finished. */
  jobLatencyMs?: number;
}

export interface Upstream {
  port: number;
  server: Server;
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/** Marks a number Gson renders as a double (`1.0`): ZStack re-renders free-form JSON that way. */
class GsonDouble {
  constructor(readonly value: number) {}
}

type GsonValue =
  | string
  | number
  | boolean
  | GsonDouble
  | GsonValue[]
  | { [key: string]: GsonValue | undefined };

/** Java's Double.toString: `1.0`, `0.5`, and from 10^7 on scientific (`2.147483648E9`). */
function javaDouble(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e7 || abs < 1e-3)) {
    const [mantissa = '0', exponent = '0'] = n.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
  }
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

function gson(value: GsonValue): string {
  if (value instanceof GsonDouble) return javaDouble(value.value);
  if (Array.isArray(value)) return `[${value.map(gson).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      // ZStack omits nulls instead of writing them.
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${gson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Java 8's `MMM d, yyyy h:mm:ss a` in UTC, e.g. `Jun 7, 2017 9:20:28 PM`. */
function javaDate(epochMs: number): string {
  const d = new Date(epochMs);
  const hours = d.getUTCHours();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${hours % 12 || 12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

type Record_ = { [key: string]: GsonValue | undefined };

const BASE_EPOCH_MS = Date.UTC(2017, 5, 7, 13, 20, 28);
const STATUSES = ['Pending', 'IntermediateApproved', 'Rejected', 'Cancelled', 'FinalApproved'];

function fixtureTicket(i: number, status?: string): Record_ {
  const created = BASE_EPOCH_MS + i * 3_600_000;
  return {
    uuid: fixtureUuid('ticket', i),
    name: `create vm ${i}`,
    description: i % 4 === 0 ? undefined : `VM for project ${i % 7}`,
    status: status ?? STATUSES[i % STATUSES.length],
    request: [
      {
        requestName: 'create vm',
        apiName: 'org.zstack.header.vm.APICreateVmInstanceMsg',
        executeTimes: new GsonDouble(1),
        apiBody: {
          name: `vm-${i}`,
          instanceOfferingUuid: fixtureUuid('offering', i % 3),
          imageUuid: fixtureUuid('image', i % 5),
          l3NetworkUuids: [fixtureUuid('l3', i % 2)],
          cpuNum: new GsonDouble(2),
          memorySize: new GsonDouble(2147483648),
        },
      },
    ],
    accountSystemType: 'iam2',
    accountSystemContext: {
      projectUuid: fixtureUuid('project', i % 7),
      virtualIDUuid: fixtureUuid('virtual-id', i % 11),
    },
    ticketTypeUuid: fixtureUuid('ticket-type', i % 2),
    currentFlowUuid: fixtureUuid('flow', i % 3),
    flowCollectionUuid: fixtureUuid('flow-collection', 0),
    createDate: javaDate(created),
    lastOpDate: javaDate(created + 60_000),
  };
}

function fixtureHistory(ticketIndex: number, seq: number): Record_ {
  const chain = ['Pending', 'IntermediateApproved', 'Rejected', 'Pending'];
  return {
    uuid: fixtureUuid(`history-${ticketIndex}`, seq),
    ticketUuid: fixtureUuid('ticket', ticketIndex),
    fromStatus: chain[seq] ?? 'Pending',
    toStatus: chain[seq + 1] ?? 'Pending',
    comment: seq === 1 ? undefined : `step ${seq}`,
    operationContextType: 'StatusChanged',
    operationContext: {},
    operatorType: 'IAM2VirtualID',
    operatorUuid: fixtureUuid('virtual-id', seq),
    flowName: `flow-${seq}`,
    sequence: seq,
    createDate: javaDate(BASE_EPOCH_MS + ticketIndex * 3_600_000 + (seq + 1) * 60_000),
    lastOpDate: javaDate(BASE_EPOCH_MS + ticketIndex * 3_600_000 + (seq + 1) * 60_000),
  };
}

const TICKETS: Record_[] = Array.from({ length: TICKET_COUNT }, (_, i) => fixtureTicket(i));
const HISTORIES: Record_[] = TICKETS.flatMap((_, t) =>
  Array.from({ length: HISTORIES_PER_TICKET }, (_, s) => fixtureHistory(t, s)),
);
const TICKET_TYPES: Record_[] = [0, 1].map((i) => ({
  uuid: fixtureUuid('ticket-type', i),
  name: i === 0 ? 'CREATE_VM_INSTANCE_TICKET_TYPE' : 'MODIFY_VM_INSTANCE_TICKET_TYPE',
  type: 'Ticket',
  requests: 'org.zstack.header.vm.APICreateVmInstanceMsg',
  adminOnly: false,
  createDate: javaDate(BASE_EPOCH_MS),
  lastOpDate: javaDate(BASE_EPOCH_MS),
}));
const FLOW_COLLECTIONS: Record_[] = [
  {
    uuid: fixtureUuid('flow-collection', 0),
    name: 'default approval chain',
    state: 'Enabled',
    status: 'Valid',
    isDefault: true,
    flows: [0, 1, 2].map((i) => ({
      uuid: fixtureUuid('flow', i),
      name: `flow-${i}`,
      collectionUuid: fixtureUuid('flow-collection', 0),
      approverUuid: fixtureUuid('virtual-id', i),
      parentFlowUuid: i === 0 ? undefined : fixtureUuid('flow', i - 1),
      createDate: javaDate(BASE_EPOCH_MS),
      lastOpDate: javaDate(BASE_EPOCH_MS),
    })),
    ticketTypeUuids: [fixtureUuid('ticket-type', 0), fixtureUuid('ticket-type', 1)],
    projectUuid: fixtureUuid('project', 0),
    createDate: javaDate(BASE_EPOCH_MS),
    lastOpDate: javaDate(BASE_EPOCH_MS),
  },
];

/** The job result of approving each fixture ticket, keyed by ticket uuid. */
const APPROVED_RESULTS = new Map<string, Buffer>(
  TICKETS.map((t, i) => [
    String(t.uuid),
    Buffer.from(gson({ inventory: { ...fixtureTicket(i, 'IntermediateApproved') } })),
  ]),
);

interface Reply {
  status: number;
  body: Buffer;
}

function text(status: number, message: string): Reply {
  return { status, body: Buffer.from(message) };
}

function errorReply(code: string, description: string, details: string): Reply {
  return { status: 503, body: Buffer.from(gson({ error: { code, description, details } })) };
}

const QUERY_OPERATORS = ['!=', '!?=', '?=', '='] as const;

/** One ZStack query (section 5 of the protocol): q (AND), limit, start, count, replyWithCount, fields. */
function runQuery(items: readonly Record_[], params: URLSearchParams, fixedUuid?: string): Reply {
  const conditions: Array<(item: Record_) => boolean> = [];
  if (fixedUuid !== undefined) {
    // The `/{uuid}` form ignores every other parameter, as ZStack does.
    conditions.push((item) => item.uuid === fixedUuid);
  } else {
    for (const cond of params.getAll('q')) {
      const op = QUERY_OPERATORS.find((o) => cond.includes(o));
      if (op === undefined) return text(400, `invalid query condition[${cond}]`);
      const at = cond.indexOf(op);
      const field = cond.slice(0, at).trim();
      const value = cond.slice(at + op.length);
      const values = new Set(value.split(','));
      const get = (item: Record_) => {
        const v = item[field];
        return v === undefined ? undefined : String(v instanceof GsonDouble ? v.value : v);
      };
      if (op === '?=') conditions.push((item) => values.has(get(item) ?? ''));
      else if (op === '!?=') conditions.push((item) => !values.has(get(item) ?? ''));
      else if (op === '=') conditions.push((item) => get(item) === value);
      else conditions.push((item) => get(item) !== value);
    }
  }
  const matched = items.filter((item) => conditions.every((c) => c(item)));
  const total = matched.length;
  if (fixedUuid === undefined && params.get('count') === 'true') {
    return { status: 200, body: Buffer.from(`{"total":${total}}`) };
  }
  const start = fixedUuid === undefined ? Number(params.get('start') ?? 0) : 0;
  const limit = fixedUuid === undefined ? Number(params.get('limit') ?? 1000) : 1000;
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(limit) || limit < 0) {
    return text(400, 'invalid start or limit');
  }
  const fieldsParam = fixedUuid === undefined ? params.get('fields') : null;
  const fields = fieldsParam ? new Set(fieldsParam.split(',').map((f) => f.trim())) : undefined;
  const page = matched.slice(start, start + limit).map((item) => {
    if (fields === undefined) return gson(item);
    const projected: Record_ = {};
    for (const [k, v] of Object.entries(item)) if (fields.has(k)) projected[k] = v;
    return gson(projected);
  });
  const withTotal = fixedUuid === undefined && params.get('replyWithCount') === 'true';
  return {
    status: 200,
    body: Buffer.from(`{"inventories":[${page.join(',')}]${withTotal ? `,"total":${total}` : ''}}`),
  };
}

const UUID = '([0-9a-f]{32})';
const ROUTES: Array<{ key: string; method: string; pattern: RegExp; auth: boolean }> = [
  {
    key: 'PUT /v1/tickets/{uuid}/actions',
    method: 'PUT',
    pattern: new RegExp(`^/tickets/${UUID}/actions$`),
    auth: true,
  },
  { key: 'GET /v1/api-jobs/{uuid}', method: 'GET', pattern: /^\/api-jobs\/([^/]+)$/, auth: false },
  {
    key: 'GET /v1/tickets/histories',
    method: 'GET',
    pattern: /^\/tickets\/histories(?:\/([^/]+))?$/,
    auth: true,
  },
  {
    key: 'GET /v1/tickets/flow-collections',
    method: 'GET',
    pattern: /^\/tickets\/flow-collections(?:\/([^/]+))?$/,
    auth: true,
  },
  { key: 'GET /v1/tickets', method: 'GET', pattern: new RegExp(`^/tickets(?:/${UUID})?$`), auth: true },
  { key: 'GET /v1/ticket-types', method: 'GET', pattern: /^\/ticket-types(?:\/([^/]+))?$/, auth: true },
  {
    key: 'GET /v1/management-nodes/platform-timezone',
    method: 'GET',
    pattern: /^\/management-nodes\/platform-timezone$/,
    auth: true,
  },
  {
    key: 'GET /v1/accounts/sessions/{uuid}/valid',
    method: 'GET',
    pattern: /^\/accounts\/sessions\/([^/]+)\/valid$/,
    auth: false,
  },
];

const PREFIX = '/zstack/v1';
const GET_CACHE_LIMIT = 10_000;
/** Finished jobs stay pollable this long (ZStack keeps them for hours; a benchmark needs seconds). */
const JOB_RETENTION_MS = 60_000;

interface Job {
  readyAt: number;
  result: Reply;
}

export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const jobLatencyMs = options.jobLatencyMs ?? 0;
  const counts = new Map<string, number>();
  const getCache = new Map<string, Reply>();
  const jobs = new Map<string, Job>();
  const jobPrefix = randomBytes(10).toString('hex');
  let jobCounter = 0;
  let locationPrefix = '';
  const accepted202Tail = Buffer.from('","apiTimeout":300000}');
  const running = Buffer.from('{}');

  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

  const send = (res: ServerResponse, reply: Reply) => {
    // No Content-Type: the real RestServer never sets one.
    res.writeHead(reply.status, { 'Content-Length': reply.body.length });
    res.end(reply.body);
  };

  const answerGet = (key: string, match: RegExpExecArray, url: string): Reply => {
    const cached = getCache.get(url);
    if (cached) return cached;
    const query = url.indexOf('?');
    const params = new URLSearchParams(query === -1 ? '' : url.slice(query + 1));
    const uuid = match[1];
    let reply: Reply;
    switch (key) {
      case 'GET /v1/tickets':
        reply = runQuery(TICKETS, params, uuid);
        break;
      case 'GET /v1/tickets/histories':
        reply = runQuery(HISTORIES, params, uuid);
        break;
      case 'GET /v1/ticket-types':
        reply = runQuery(TICKET_TYPES, params, uuid);
        break;
      case 'GET /v1/tickets/flow-collections':
        reply = runQuery(FLOW_COLLECTIONS, params, uuid);
        break;
      case 'GET /v1/management-nodes/platform-timezone':
        reply = { status: 200, body: Buffer.from('{"success":true,"timezone":"UTC","offset":"+00:00"}') };
        break;
      case 'GET /v1/accounts/sessions/{uuid}/valid':
        reply = { status: 200, body: Buffer.from('{"valid":true}') };
        break;
      default:
        reply = text(404, `no api mapping to ${url.slice(PREFIX.length)}`);
    }
    if (getCache.size >= GET_CACHE_LIMIT) getCache.clear();
    getCache.set(url, reply);
    return reply;
  };

  // ZStack's webhook: one POST when the job ends (no retries: a lost callback is the gateway's problem).
  const callBack = (url: string, jobUuid: string, success: boolean) => {
    request(url, {
      method: 'POST',
      headers: {
        'x-job-uuid': jobUuid,
        'x-job-success': String(success),
        'content-type': 'application/json',
      },
      body: '{}',
    }).then(
      (res) => res.body.dump(),
      () => {},
    );
  };

  const acceptJob = (
    req: IncomingMessage,
    res: ServerResponse,
    ticketUuid: string,
    path: string,
    body: Buffer,
  ) => {
    if (body.indexOf('"changeTicketStatus"') === -1) {
      send(res, text(400, `the body doesn't contain action mapping to the URL[/v1${path}]`));
      return;
    }
    const requested = req.headers['x-job-uuid'];
    let jobUuid: string;
    if (typeof requested === 'string' && /^[0-9a-f]{32}$/.test(requested)) {
      if (jobs.has(requested)) {
        send(res, text(400, `Duplicate job uuid[${requested}]`));
        return;
      }
      jobUuid = requested;
    } else {
      jobUuid = jobPrefix + (jobCounter++).toString(16).padStart(12, '0');
    }
    const approved = APPROVED_RESULTS.get(ticketUuid);
    const result: Reply = approved
      ? { status: 200, body: approved }
      : errorReply(
          'SYS.1003',
          'A resource can not be found',
          `invalid field[uuid], resource[uuid:${ticketUuid}, type:TicketVO] not found`,
        );
    jobs.set(jobUuid, { readyAt: performance.now() + jobLatencyMs, result });
    const hook = req.headers['x-web-hook'];
    if (typeof hook === 'string') setTimeout(callBack, jobLatencyMs, hook, jobUuid, result.status === 200);
    send(res, { status: 202, body: Buffer.concat([Buffer.from(locationPrefix + jobUuid), accepted202Tail]) });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (url.startsWith('/__bench/counts')) {
      req.resume();
      if (method === 'DELETE') counts.clear();
      const body = Buffer.from(JSON.stringify(Object.fromEntries(counts)));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    const queryAt = url.indexOf('?');
    const path = url.slice(0, queryAt === -1 ? undefined : queryAt);
    if (!path.startsWith(`${PREFIX}/`)) {
      req.resume();
      count('other');
      send(res, text(404, `no api mapping to ${path}`));
      return;
    }
    const subPath = path.slice(PREFIX.length);
    for (const route of ROUTES) {
      const match = route.pattern.exec(subPath);
      if (!match) continue;
      count(route.key);
      if (route.method !== method) {
        req.resume();
        send(res, text(405, `the method ${method} is not allowed on ${subPath}`));
        return;
      }
      if (route.auth) {
        const auth = req.headers.authorization;
        if (auth === undefined) {
          req.resume();
          send(res, text(400, "missing header 'Authorization'"));
          return;
        }
        if (!auth.startsWith('OAuth')) {
          req.resume();
          send(res, text(400, "Authorization type must be 'OAuth'"));
          return;
        }
      }
      if (route.key === 'GET /v1/api-jobs/{uuid}') {
        req.resume();
        const job = jobs.get(match[1] ?? '');
        if (!job) send(res, text(404, 'the job has been expired'));
        else if (performance.now() < job.readyAt) send(res, { status: 202, body: running });
        else send(res, job.result);
        return;
      }
      if (method === 'PUT') {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => acceptJob(req, res, match[1] ?? '', subPath, Buffer.concat(chunks)));
        return;
      }
      req.resume();
      send(res, answerGet(route.key, match, url));
      return;
    }
    req.resume();
    count('other');
    send(res, text(404, `no api mapping to /v1${subPath}`));
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  const sweep = setInterval(() => {
    const horizon = performance.now() - JOB_RETENTION_MS;
    // Jobs are inserted in readyAt order, so the old ones are all at the front.
    for (const [uuid, job] of jobs) {
      if (job.readyAt >= horizon) break;
      jobs.delete(uuid);
    }
  }, 5_000);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  locationPrefix = `{"location":"http://${options.host ?? '127.0.0.1'}:${port}${PREFIX}/api-jobs/`;

  return {
    port,
    server,
    counts: () => Object.fromEntries(counts),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const upstream = await startUpstream({
    port: Number(process.env.PORT ?? 0),
    host: process.env.HOST ?? '127.0.0.1',
    jobLatencyMs: Number(process.env.BENCH_JOB_LATENCY_MS ?? 0),
  });
  console.log(`bench upstream listening on http://127.0.0.1:${upstream.port}/zstack`);
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
