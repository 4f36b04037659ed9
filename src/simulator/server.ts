/** The simulator's HTTP side: request log, fault injection, admin endpoints and the in-process controls. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin.js';
import { CONTEXT_PATH, type Core, dispatch, type Incoming, type Outcome } from './api.js';
import { normalizeRequestFailure, normalizeRule } from './faults.js';
import { JobStore } from './jobs.js';
import { renderRow } from './query.js';
import { ApiError, errorBody, gsonStringify } from './render.js';
import { HISTORY_SCHEMA, TICKET_SCHEMA } from './schemas.js';
import { ADMIN_UUID, freshWorld } from './seed.js';
import { SessionStore } from './sessions.js';
import type {
  Fault,
  FaultRule,
  RecordedRequest,
  Simulator,
  SimulatorControls,
  SimulatorOptions,
} from './types.js';

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function bodyOf(o: Outcome): string {
  return 'json' in o ? o.json : 'html' in o ? o.html : o.text;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a simulator; `port: 0` picks a free port. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? true;
  const initialLatency = options.jobLatencyMs ?? 0;
  const contentType = options.contentType ?? false;
  let { world, demo } = freshWorld(seed);
  const jobs = new JobStore({
    latencyMs: initialLatency,
    retentionMs: options.jobRetentionMs ?? 3 * 3600_000,
    webhookRetryIntervalMs: options.webhookRetryIntervalMs ?? 2000,
  });
  const core: Core = {
    world,
    sessions: new SessionStore(options.sessionTimeoutSec ?? 7200, options.sessionClock),
    jobs,
    timeZone: options.timeZone ?? 'UTC',
    advertisedHost: options.advertisedHost,
    listenHost: host,
  };
  // Fail at start, not at the first date, on a zone Intl does not know.
  new Intl.DateTimeFormat('en-US', { timeZone: core.timeZone });

  const requests: RecordedRequest[] = [];
  let seq = 0;
  const faults: { rule: FaultRule; remaining: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const takeFault = (method: string, path: string): Fault | undefined => {
    const i = faults.findIndex(
      (f) =>
        (f.rule.method === undefined || f.rule.method.toUpperCase() === method) &&
        path.includes(f.rule.path ?? ''),
    );
    const entry = faults[i];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(i, 1);
    return entry.rule.fault;
  };

  const headersFor = (o: Outcome, length: number): Record<string, string | number> => {
    const h: Record<string, string | number> = { ...o.headers, 'Content-Length': length };
    if ('html' in o) h['Content-Type'] = 'text/html;charset=utf-8';
    else if (contentType)
      h['Content-Type'] = 'json' in o ? 'application/json;charset=utf-8' : 'text/plain;charset=utf-8';
    return h;
  };

  const send = (res: ServerResponse, o: Outcome) => {
    const buf = Buffer.from(bodyOf(o), 'utf8');
    res.writeHead(o.status, headersFor(o, buf.length));
    res.end(buf);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    if (path.startsWith('/__simulator/')) return handleAdmin(controls, req, res, path, body);

    const headers = flattenHeaders(req);
    requests.push({ seq: ++seq, method, path, query, headers, body, at: Date.now() });
    const incoming: Incoming = { method, path, query, headers, body };

    const fault = takeFault(method, path);
    switch (fault?.kind) {
      case undefined:
        return send(res, dispatch(core, incoming));
      case 'latency':
        await delay(fault.ms);
        return send(res, dispatch(core, incoming));
      case 'http500':
        return send(res, { status: 500, text: fault.text ?? 'java.lang.NullPointerException' });
      case 'errorCode': {
        const err = new ApiError(fault.code, fault.details ?? 'injected by the simulator');
        if (fault.description !== undefined) err.errorCode.description = fault.description;
        if (fault.async) return send(res, dispatch(core, incoming, err));
        return send(res, { status: 503, json: gsonStringify(errorBody(err.errorCode)) });
      }
      case 'reset':
        // after=true: the request takes effect, only the answer is lost.
        if (fault.after) dispatch(core, incoming);
        req.socket.destroy();
        return;
      case 'malformed': {
        const o = dispatch(core, incoming);
        return send(res, { status: o.status, json: '{"inventor' });
      }
      case 'truncated': {
        const o = dispatch(core, incoming);
        const buf = Buffer.from(bodyOf(o), 'utf8');
        res.writeHead(o.status, headersFor(o, buf.length + 64));
        res.write(buf.subarray(0, Math.floor(buf.length / 2)));
        await new Promise<void>((resolve) => setImmediate(resolve));
        req.socket.destroy();
        return;
      }
      case 'slowBody': {
        const o = dispatch(core, incoming);
        const buf = Buffer.from(bodyOf(o), 'utf8');
        res.writeHead(o.status, headersFor(o, buf.length));
        res.flushHeaders();
        await delay(fault.delayMs);
        res.end(buf);
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, text: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });

  const controls: SimulatorControls = {
    get requests() {
      return requests;
    },
    clearRequests() {
      requests.length = 0;
    },
    count(filter) {
      return requests.filter(
        (r) =>
          (filter?.method === undefined || r.method === filter.method.toUpperCase()) &&
          (filter?.path === undefined || r.path.includes(filter.path)),
      ).length;
    },
    injectFault(rule) {
      const normalized = normalizeRule(rule);
      faults.push({ rule: normalized, remaining: normalized.times ?? 1 });
    },
    injectRequestFailure(rule) {
      core.world.requestFailures.push(normalizeRequestFailure(rule));
    },
    clearFaults() {
      faults.length = 0;
      core.world.requestFailures.length = 0;
    },
    setJobLatency(ms) {
      jobs.latencyMs = ms;
    },
    expireSession(uuid) {
      core.sessions.expire(uuid);
    },
    expireJob(uuid) {
      jobs.expire(uuid);
    },
    get demo() {
      return demo;
    },
    getTicket(uuid) {
      const row = core.world.tickets.get(uuid);
      return row ? JSON.parse(gsonStringify(renderRow(TICKET_SCHEMA, row, core.timeZone))) : undefined;
    },
    listTickets() {
      return core.world
        .ticketRows()
        .map((r) => JSON.parse(gsonStringify(renderRow(TICKET_SCHEMA, r, core.timeZone))));
    },
    historyOf(ticketUuid) {
      return core.world
        .historyRows(ticketUuid)
        .map((r) => JSON.parse(gsonStringify(renderRow(HISTORY_SCHEMA, r, core.timeZone))));
    },
    changeTicketStatus(uuid, event, actorUuid) {
      const actor = core.world.actorByUuid(actorUuid ?? ADMIN_UUID);
      if (!actor) throw new Error(`no account, user or virtual ID with uuid ${actorUuid}`);
      core.world.changeStatus(uuid, { statusEvent: event }, actor);
    },
    setTicketField(uuid, field, value) {
      const row = core.world.tickets.get(uuid);
      if (!row) throw new Error(`no ticket ${uuid}`);
      row[field] = value;
    },
    jobOf(uuid) {
      const job = jobs.get(uuid);
      if (!job) return undefined;
      return job.body === undefined
        ? { state: job.state }
        : { state: job.state, result: JSON.parse(job.body) };
    },
    reset() {
      jobs.clear();
      jobs.latencyMs = initialLatency;
      ({ world, demo } = freshWorld(seed));
      core.world = world;
      requests.length = 0;
      faults.length = 0;
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${CONTEXT_PATH}`,
    port,
    controls,
    close: async () => {
      jobs.clear();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
