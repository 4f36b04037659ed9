import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult, GraphQLError } from 'graphql';
import { type GraphQLParams, processRegularResult } from 'graphql-yoga';
import { requestTag } from './context.js';
import { maskError } from './errors.js';
import type { Gateway } from './gateway.js';
import { PREPARE_KEY, type PreparedOperation, preparedKey } from './prepared.js';

/**
 * The hot path of every frontend, `POST /graphql` with a JSON body and a JSON answer, without
 * yoga's Fetch-API layer: no WHATWG Request/Response/Headers/streams per request, which cost far
 * more than executing the operation. The request still runs through yoga's own `getResultForParams`
 * (its onParams hooks, the enveloped parse/validate with their caches and every plugin's rules,
 * the context factory, execute with jit, masking, onExecutionResult hooks), and the answer is
 * built by yoga's own `processRegularResult`, so status, headers and body are the ones yoga sends.
 * A document text that has been through that pipeline once runs as a prepared operation
 * (src/prepared.ts): execute, then the result processing yoga applies, with no pipeline around it.
 * Anything else goes to yoga's full handler.
 */

/** yoga's own request-body ceiling (`maxRequestBodySize` default); larger bodies go to yoga. */
const YOGA_BODY_LIMIT = 25_000_000;

/**
 * Result processors in yoga's order (useResultProcessors): for a single result the last match over
 * these and the Accept list wins. Only the regular one is served here.
 */
const PROCESSORS: readonly (readonly string[])[] = [
  ['text/event-stream'],
  ['multipart/mixed'],
  ['application/graphql-response+json', 'application/json'],
];
const REGULAR = 2;

/** The Accept media types as yoga reads them: whitespace dropped, lowercased, utf-8 only, reversed. */
function requestedMediaTypes(accept: string | undefined): string[] {
  const types: string[] = [];
  for (const entry of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [type, ...params] = entry.split(';');
    if (type === undefined) continue;
    const charset = params.find((p) => p.includes('charset=')) ?? 'charset=utf-8';
    if (charset === 'charset=utf-8') types.push(type);
  }
  return types.reverse();
}

function matches(processorType: string, requested: string): boolean {
  const [pre, suf] = processorType.split('/');
  const [askedPre, askedSuf] = requested.split('/');
  return (askedPre === '*' || askedPre === pre) && (askedSuf === '*' || askedSuf === suf);
}

/** The media type yoga answers a single result with for this Accept, or undefined when not a regular one. */
export function regularMediaType(accept: string | undefined): string | undefined {
  let chosen: string | undefined;
  let chosenProcessor = -1;
  const requested = requestedMediaTypes(accept);
  PROCESSORS.forEach((types, processor) => {
    for (const asked of requested) {
      for (const type of types) {
        if (matches(type, asked)) {
          chosen = type;
          chosenProcessor = processor;
        }
      }
    }
  });
  return chosenProcessor === REGULAR ? chosen : undefined;
}

/** yoga's isPOSTJsonRequest for `application/json` (case-sensitive, first of a comma list). */
function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const first = contentType.split(',')[0];
  return first === 'application/json' || first?.startsWith('application/json;') === true;
}

/**
 * A subscription's result is a stream that only yoga's SSE/multipart processors can send; any
 * document mentioning the word goes to yoga (a field of that name only costs the slow path).
 */
const SUBSCRIPTION = /\bsubscription\b/;

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions']);

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One operation with a document, in the shape yoga's parameter checks accept; anything else
 * (batches, persisted-query hashes, unknown parameters) is yoga's to answer.
 */
function isPlainOperation(params: unknown): params is GraphQLParams {
  if (!isObject(params)) return false;
  const record = params as Record<string, unknown>;
  for (const name in record) {
    const value = record[name];
    if (value !== null && value !== undefined && !PARAM_NAMES.has(name)) return false;
  }
  const { query, variables, extensions } = record;
  if (typeof query !== 'string' || query === '') return false;
  if (variables !== undefined && variables !== null && !isObject(variables)) return false;
  return extensions === undefined || extensions === null || isObject(extensions);
}

/** What the yoga pipeline reads of the request on this path: method, url, headers and signal. */
class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  forEach(fn: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) fn(value, name);
    }
  }
}

class NodeRequestView {
  readonly method: string;
  readonly headers: NodeHeaders;
  constructor(
    private readonly req: IncomingMessage,
    readonly signal: AbortSignal,
  ) {
    this.method = req.method ?? 'POST';
    this.headers = new NodeHeaders(req.headers);
  }
  get url(): string {
    return `http://${this.req.headers.host ?? 'localhost'}${this.req.url ?? '/'}`;
  }
}

/** Stands in for fetchAPI.Response so processRegularResult's answer is read without building one. */
class CapturedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(
    readonly body: string | null,
    init: { status?: number; headers?: Record<string, string> } = {},
  ) {
    this.status = init.status ?? 200;
    this.headers = init.headers ?? {};
  }
}
const CAPTURE = { Response: CapturedResponse } as unknown as Parameters<typeof processRegularResult>[1];

export interface FastPath {
  /**
   * From the headers alone: the media type the answer would have when this request can take the
   * fast path, or undefined when it must go to yoga.
   */
  accepts(req: IncomingMessage): string | undefined;
  /**
   * Serves a request whose whole body has been read. Returns false without side effects when
   * the body is not a plain single operation; the caller then gives the request to yoga.
   */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    mediaType: string,
    observer: FastPathObserver,
  ): Promise<boolean> | false;
}

/** What the HTTP layer learns of a request served here (for its log line and metrics). */
export interface FastPathObserver {
  /** The operation about to run prepared (yoga's hooks report it on the other paths). */
  onOperation(name: string | undefined): void;
  /** The result as sent, before it is written. */
  onResult(result: ExecutionResult): void;
}

function send(
  res: ServerResponse,
  result: ExecutionResult,
  mediaType: string,
  observer: FastPathObserver,
): void {
  observer.onResult(result);
  if (res.destroyed) return;
  if (result.errors === undefined && result.extensions === undefined) {
    // What processRegularResult makes of a result with neither errors nor extensions (no status or
    // header can come from either), without building it.
    const text = JSON.stringify(result);
    res.writeHead(200, {
      'Content-Type': `${mediaType}; charset=utf-8`,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return;
  }
  const response = processRegularResult(result, CAPTURE, mediaType) as unknown as CapturedResponse;
  const text = response.body ?? '';
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** yoga aborts its request signal when the connection closes before the response is sent. */
function abortOnClose(res: ServerResponse): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  return { signal: abort.signal, release: () => res.removeListener('close', onClose) };
}

/**
 * Only a text with nothing beside it may be prepared or run prepared: `extensions` may name a
 * persisted operation, and a non-string operationName is yoga's to refuse.
 */
function keyOf(params: GraphQLParams): string | undefined {
  const { operationName, extensions } = params;
  if (extensions !== undefined && extensions !== null) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return undefined;
  return preparedKey(params.query as string, operationName);
}

/** The fast path over one gateway's yoga instance. */
export function createFastPath(gateway: Gateway): FastPath {
  const { yoga, prepared } = gateway;
  const getResultForParams = yoga.getResultForParams;
  const waitUntil = yoga.waitUntil;
  const mediaTypes = new Map<string, string | undefined>();

  function mediaTypeFor(accept: string | undefined): string | undefined {
    const key = accept ?? '';
    if (mediaTypes.has(key)) return mediaTypes.get(key);
    const type = regularMediaType(accept);
    // Clients send a handful of distinct Accept values; a bound keeps odd ones from growing it.
    if (mediaTypes.size < 256) mediaTypes.set(key, type);
    return type;
  }

  /** A prepared operation: the request's context, execute, and yoga's result processing. */
  function runPrepared(
    operation: PreparedOperation,
    params: GraphQLParams,
    req: IncomingMessage,
    res: ServerResponse,
    mediaType: string,
    observer: FastPathObserver,
  ): Promise<boolean> {
    observer.onOperation(operation.operationName);
    const abort = abortOnClose(res);
    const tag = requestTag(req);
    const settle = (result: ExecutionResult) => {
      abort.release();
      send(res, gateway.finishResult(result, tag), mediaType, observer);
      return true;
    };
    // Past this point the operation may run (a mutation must never run twice): every outcome is
    // answered here, an unexpected throw masked (and reported) by finishResult as yoga masks one.
    const failed = (error: unknown) => settle({ errors: [error as GraphQLError] });
    try {
      const context = gateway.createContext(req.headers.authorization, abort.signal, tag);
      const result = operation.execute(context, params.variables ?? undefined);
      return result instanceof Promise ? result.then(settle, failed) : Promise.resolve(settle(result));
    } catch (error) {
      return Promise.resolve(failed(error));
    }
  }

  return {
    accepts(req) {
      const headers = req.headers;
      // CORS headers come from yoga's onResponse hook, so requests with an Origin stay on its path.
      if (headers.origin !== undefined) return undefined;
      if (!isJsonContentType(headers['content-type'])) return undefined;
      return mediaTypeFor(headers.accept);
    },

    serve(req, res, body, mediaType, observer) {
      if (body.length === 0 || body.length > YOGA_BODY_LIMIT) return false;
      let params: unknown;
      try {
        params = JSON.parse(body.toString('utf8'));
      } catch {
        return false; // yoga words the parse error
      }
      if (!isPlainOperation(params)) return false;
      const key = prepared === undefined ? undefined : keyOf(params);
      const operation = key === undefined ? undefined : prepared?.get(key);
      // A prepared text is no subscription: those never reach execute, so they are never prepared.
      if (operation !== undefined) return runPrepared(operation, params, req, res, mediaType, observer);
      if (SUBSCRIPTION.test(params.query as string)) return false;

      const abort = abortOnClose(res);
      const request = new NodeRequestView(req, abort.signal) as unknown as Request;
      const context = { req, res, waitUntil, [PREPARE_KEY]: key };

      return Promise.resolve()
        .then(() => getResultForParams({ params, request }, context))
        .then(
          (result) => {
            if (result === undefined || Symbol.asyncIterator in result) {
              // Only yoga can stream; not reached, as subscriptions never come this way.
              if (result !== undefined) void (result as unknown as AsyncIterator<unknown>).return?.();
              abort.release();
              return false;
            }
            send(res, result, mediaType, observer);
            return true;
          },
          (error: unknown) => {
            abort.release();
            // yoga's handleParams puts `params` on the context first: without it only an onParams
            // hook threw, nothing has run, and yoga answers in its own words.
            if (!('params' in context)) return false;
            // Past that point the operation may have run (a mutation must never run twice): answer
            // here, masked, as yoga does for an error it did not expect.
            send(res, { errors: [maskError(error) as GraphQLError] }, mediaType, observer);
            return true;
          },
        );
    },
  };
}
