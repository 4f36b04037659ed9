import { type ExecutionResult, GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';

/** The media types a single JSON result is sent as (GraphQL over HTTP). */
export type JsonMediaType = 'application/graphql-response+json' | 'application/json';

/**
 * How a request is answered: a JSON media type, or Apollo's multipart subscription protocol
 * (src/http/graphql-multipart.ts), whose client may also accept JSON (`json`) for an answer that is
 * one result (a query, a mutation, a refusal), as Apollo Router answers it.
 */
export type Answer = JsonMediaType | { multipart: true; json: JsonMediaType | undefined };

/** What an Accept header allows, read in one pass (the router reads it once per request). */
export interface Accepted {
  /** The best JSON media type; undefined when no JSON answer is acceptable. */
  json: JsonMediaType | undefined;
  /** A stream type (text/event-stream, multipart/mixed) with a q above 0: yoga's handler serves those. */
  stream: boolean;
  /** Apollo's multipart subscriptions (`multipart/mixed;subscriptionSpec=…`, q above 0): ours. */
  multipartSubscription: boolean;
}

const NO_ACCEPT: Accepted = { json: 'application/json', stream: false, multipartSubscription: false };

/**
 * Reads an Accept header. A missing or empty Accept, `*\/*` and `application/*` mean
 * application/json, as the spec asks; a type with `q=0` is refused by its client, so it counts for nothing.
 */
export function negotiate(accept: string | undefined): Accepted {
  if (accept === undefined || accept.trim() === '') return NO_ACCEPT;
  // A frontend's requests all send the same Accept: the last one's reading is kept (no strings per request).
  if (accept === lastAccept) return lastAccepted;
  const accepted = readAccept(accept);
  lastAccept = accept;
  lastAccepted = accepted;
  return accepted;
}

let lastAccept: string | undefined;
let lastAccepted: Accepted = NO_ACCEPT;

function readAccept(accept: string): Accepted {
  let json: JsonMediaType | undefined;
  let bestQ = 0;
  let stream = false;
  let multipartSubscription = false;
  for (const entry of accept.split(',')) {
    const [rawType = '', ...rawParams] = entry.split(';');
    const type = rawType.trim().toLowerCase();
    let q = 1;
    let utf8 = true;
    let subscriptionSpec = false;
    for (const param of rawParams) {
      const [name = '', value = ''] = param.split('=').map((s) => s.trim().toLowerCase());
      if (name === 'q') q = Number(value);
      else if (name === 'charset') utf8 = value === 'utf-8' || value === 'utf8';
      else if (name === 'subscriptionspec') subscriptionSpec = true;
    }
    if (!(q > 0)) continue;
    if (type === 'text/event-stream' || type === 'multipart/mixed') {
      stream = true;
      if (type === 'multipart/mixed' && subscriptionSpec) multipartSubscription = true;
      continue;
    }
    if (!utf8) continue;
    const media: JsonMediaType | undefined =
      type === 'application/graphql-response+json'
        ? type
        : type === 'application/json' || type === '*/*' || type === 'application/*'
          ? 'application/json'
          : undefined;
    if (media !== undefined && q > bestQ) {
      json = media;
      bestQ = q;
    }
  }
  return { json, stream, multipartSubscription };
}

/** Whether a Content-Type names JSON (`application/json`, any parameters; case-insensitive). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // The common spelling needs no strings made.
  if (contentType === 'application/json') return true;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** The spec's JSON form of a result: errors as JSON, with no internal extension (`http`) left. */
export function serializeResult(result: ExecutionResult): string {
  if (result.errors === undefined) return JSON.stringify(result);
  const errors = result.errors.map((e) => {
    const json = e instanceof GraphQLError ? e.toJSON() : { message: String((e as Error).message) };
    if (json.extensions !== undefined && 'http' in json.extensions) {
      const { http: _http, ...rest } = json.extensions as Record<string, unknown>;
      return Object.keys(rest).length > 0
        ? { ...json, extensions: rest }
        : { ...json, extensions: undefined };
    }
    return json;
  });
  return JSON.stringify({ ...result, errors });
}

/**
 * The response headers a result's errors ask for (`extensions.http.headers`, as yoga's handler
 * honours them: a RATE_LIMITED error's Retry-After). The status stays the spec's.
 */
export function headersOf(result: ExecutionResult): Record<string, string> | undefined {
  let headers: Record<string, string> | undefined;
  for (const error of result.errors ?? []) {
    const asked = (error.extensions?.http as { headers?: unknown } | undefined)?.headers;
    if (typeof asked !== 'object' || asked === null) continue;
    for (const [name, value] of Object.entries(asked)) {
      if (typeof value === 'string') {
        headers ??= {};
        headers[name] = value;
      }
    }
  }
  return headers;
}

/**
 * HTTP status of a result (GraphQL over HTTP): always 200 for application/json; for
 * application/graphql-response+json 200 once execution produced `data`, else 400 for a request
 * error or 500 when it failed for a reason of ours.
 */
export function statusOf(result: ExecutionResult, mediaType: JsonMediaType): number {
  if (mediaType === 'application/json' || result.data !== undefined) return 200;
  const internal = result.errors?.some((e) => e.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR);
  return internal ? 500 : 400;
}
