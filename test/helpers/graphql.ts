import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';

/** One GraphQL error as the gateway sends it. */
export interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

/** A GraphQL response body. */
export interface GraphQLBody<T = Record<string, unknown>> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

/** What postGraphQL saw: the status, the headers, the parsed body and its raw text. */
export interface GraphQLPost<T = Record<string, unknown>> {
  status: number;
  headers: IncomingHttpHeaders;
  body: GraphQLBody<T>;
  text: string;
}

export interface GraphQLPostOptions {
  /** Sent as `Authorization: OAuth <session>`. */
  session?: string;
  /** The whole Authorization header (wins over `session`). */
  authorization?: string;
  /** More request headers (they win over the JSON defaults). */
  headers?: Record<string, string>;
}

/** The tests' one GraphQL client: POSTs `{ query, variables }` as JSON to `url` (…/graphql). */
export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  options: GraphQLPostOptions = {},
): Promise<GraphQLPost<T>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...options.headers,
  };
  const authorization = options.authorization ?? (options.session ? `OAuth ${options.session}` : undefined);
  if (authorization) headers.authorization = authorization;
  const res = await request(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: JSON.parse(text) as GraphQLBody<T>, text };
}

const LOG_IN = 'mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }';

/** Logs in at the gateway behind `url` (LogInInput, `kind` ACCOUNT by default) and returns the session uuid. */
export async function logInAt(url: string, input: Record<string, unknown>): Promise<string> {
  const res = await postGraphQL<{ logIn: { session: { uuid: string } } }>(url, LOG_IN, {
    i: { kind: 'ACCOUNT', ...input },
  });
  const uuid = res.body.data?.logIn.session.uuid;
  if (!uuid) throw new Error(`logIn failed: ${res.text}`);
  return uuid;
}
