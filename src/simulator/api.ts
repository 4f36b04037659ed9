/**
 * The REST layer: header checks, body conventions, sync replies and async jobs
 * (RestServer.handle/handleApi/handleJobQuery). The APIs themselves are in api-session.ts and
 * api-ticket.ts, the URL mapping in routes.ts.
 */
import { randomUUID } from 'node:crypto';
import type { ApiDef, Core, Ctx, Incoming, Outcome } from './api-def.js';
import { finishedBody, type JobOutcome } from './jobs.js';
import { parseQueryString } from './query.js';
import { ApiError, errorBody, gsonStringify, RestError, zoneOffsetMs } from './render.js';
import { matchRoute, type Route } from './routes.js';

export type { Core, Incoming, Outcome } from './api-def.js';

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
