import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
} from 'graphql';
import { maskError } from '../errors.js';
import { usesIncrementalDelivery } from '../plugins/defer-stream.js';
import type { PersistedDocuments } from '../plugins/persisted.js';
import type { CallerSignal } from '../zstack/call-types.js';
import { abortControllerSignal, closeSignal } from './close-signal.js';
import { type Answer, headersOf, serializeResult, statusOf } from './media.js';
import {
  badRequest,
  DEFER_NEEDS_PARTS,
  type Refusal,
  refusalError,
  SUBSCRIPTION_NEEDS_STREAM,
  unresolvedOperation,
} from './refusals.js';
import { sendJson } from './respond.js';

/**
 * `POST /graphql` with a JSON body and a JSON answer, the request every frontend sends, served
 * from node:http through yoga's envelop pipeline (`yoga.getEnveloped`, the entry yoga documents for
 * other transports): parse → validate → contextFactory → execute, with every plugin (limits, the
 * parse/validation caches, masking, jit, observability) exactly as on yoga's own handler, which
 * serves every other request (GET, streams, GraphiQL). The HTTP rules are GraphQL over HTTP's.
 */

/** The GraphQL request of a JSON body, as the spec defines its parameters. */
export interface GraphQLParams {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A refusal of the request itself (no GraphQL ran): 400 BAD_REQUEST. */
const requestError = (message: string): GraphQLError => refusalError(badRequest(message));

/** Checks a parsed body against the spec's parameters; an error says what is wrong. */
export function readParams(body: unknown): GraphQLParams | GraphQLError {
  if (Array.isArray(body)) return requestError('Batched operations are not supported: send one per request.');
  if (!isMap(body)) return requestError('The request body must be a JSON object with a "query".');
  const { query, operationName, variables, extensions } = body;
  if (query !== undefined && query !== null && typeof query !== 'string')
    return requestError('"query" must be a string.');
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return requestError('"operationName" must be a string.');
  if (variables !== undefined && variables !== null && !isMap(variables))
    return requestError('"variables" must be a map.');
  if (extensions !== undefined && extensions !== null && !isMap(extensions))
    return requestError('"extensions" must be a map.');
  return {
    query: typeof query === 'string' ? query : undefined,
    operationName: operationName as string | null | undefined,
    variables: variables as Record<string, unknown> | null | undefined,
    extensions: extensions as Record<string, unknown> | null | undefined,
  };
}

/** The part of yoga's enveloped pipeline this entry drives (envelop's public GetEnvelopedFn result). */
export interface Enveloped {
  schema: GraphQLSchema;
  parse(source: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
  contextFactory(): unknown;
  execute(args: ExecuteArgs): unknown;
  subscribe(args: ExecuteArgs): unknown;
}

interface ExecuteArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  contextValue: unknown;
  variableValues: Record<string, unknown> | null | undefined;
  operationName: string | null | undefined;
}

/** What this entry hands the pipeline as its initial context. */
export interface PostInitialContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: GraphQLParams;
  /** Aborts when the caller goes away before the answer is sent. */
  signal: CallerSignal;
}

export interface GraphQLPostOptions {
  /** Each request's signal from an AbortController instead of a CloseSignal (the bench's A/B row). */
  abortControllers?: boolean;
  getEnveloped(initial: PostInitialContext): Enveloped;
  /** Persisted operations (manifest and automatic) for `extensions.persistedQuery`; undefined = none. */
  persisted: PersistedDocuments | undefined;
  /**
   * Sees each refusal this entry makes itself, before or outside the pipeline (whose own plugins
   * observe parse, validation and execution), for the request's log line.
   */
  onRefused?(req: IncomingMessage, error: GraphQLError): void;
  /** Sees what the pipeline threw instead of answering (it is masked for the caller). */
  onThrown?(req: IncomingMessage, error: unknown): void;
  /**
   * Writes a result or a subscription's stream in Apollo's multipart protocol (writeMultipart of
   * src/http/graphql-multipart.ts); without it, subscriptions are refused here (406: SSE is yoga's).
   */
  multipart?(
    req: IncomingMessage,
    res: ServerResponse,
    source: ExecutionResult | AsyncIterable<ExecutionResult>,
  ): Promise<void>;
}

const isPromise = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === 'function';

const isAsyncIterable = (v: unknown): v is AsyncIterable<ExecutionResult> =>
  typeof (v as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/** The JSON POST entry; `serve` is called with the whole body read (the app enforces its limit). */
export function createGraphQLPost(options: GraphQLPostOptions) {
  function send(req: IncomingMessage, res: ServerResponse, result: ExecutionResult, answer: Answer) {
    if (res.destroyed) return;
    const media = typeof answer === 'string' ? answer : answer.json;
    if (media === undefined) {
      void options.multipart?.(req, res, result);
      return;
    }
    sendJson(
      res,
      statusOf(result, media),
      serializeResult(result),
      `${media}; charset=utf-8`,
      headersOf(result),
    );
  }

  function refuse(
    req: IncomingMessage,
    res: ServerResponse,
    r: Refusal | GraphQLError,
    answer: Answer,
    status = r instanceof GraphQLError ? 400 : r.status,
  ) {
    const error = r instanceof GraphQLError ? r : refusalError(r);
    const result = { errors: [error] };
    options.onRefused?.(req, error);
    if (res.destroyed) return;
    const media = typeof answer === 'string' ? answer : answer.json;
    if (media === undefined) void options.multipart?.(req, res, result);
    else sendJson(res, status, serializeResult(result), `${media}; charset=utf-8`);
  }

  /**
   * Runs one operation. Everything before execute answers a request error; once execute has been
   * called the operation may have run (a mutation must never run twice), so any failure from there
   * on is answered here, masked, and never handed to another path.
   */
  async function run(
    req: IncomingMessage,
    res: ServerResponse,
    params: GraphQLParams & { query: string },
    media: Answer,
  ): Promise<void> {
    // A request is aborted when its connection closes before the answer was written.
    const signal = options.abortControllers === true ? abortControllerSignal(res) : closeSignal(res);
    const enveloped = options.getEnveloped({ req, res, params, signal });
    let document: DocumentNode;
    try {
      document = enveloped.parse(params.query);
    } catch (error) {
      return send(req, res, { errors: [maskError(error) as GraphQLError] }, media);
    }
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return send(req, res, { errors: [...errors] }, media);
    const operation = getOperationAST(document, params.operationName);
    if (operation === null || operation === undefined)
      return refuse(req, res, unresolvedOperation(params.operationName), media);
    const streamed = operation.operation === 'subscription' && typeof media !== 'string';
    // Answered in parts, which a JSON answer cannot carry: refused before anything runs.
    if (!streamed && usesIncrementalDelivery(document)) return refuse(req, res, DEFER_NEEDS_PARTS, media);
    if (operation.operation === 'subscription' && !streamed)
      return refuse(req, res, SUBSCRIPTION_NEEDS_STREAM, media);
    let result: ExecutionResult;
    try {
      let contextValue = enveloped.contextFactory();
      if (isPromise(contextValue)) contextValue = await contextValue;
      let out = (streamed ? enveloped.subscribe : enveloped.execute)({
        schema: enveloped.schema,
        document,
        contextValue,
        variableValues: params.variables,
        operationName: params.operationName,
      });
      if (isPromise(out)) out = await out;
      // A subscription that opened: its events are written as they come (refused, it is one result).
      if (streamed && isAsyncIterable(out)) return options.multipart?.(req, res, out);
      result = out as ExecutionResult;
    } catch (error) {
      // Not an error in the result but a throw (a bug in a plugin or resolver machinery): masked.
      options.onThrown?.(req, error);
      result = { errors: [maskError(error) as GraphQLError] };
    }
    send(req, res, result, media);
  }

  return {
    /** Serves a JSON POST whose body has been read, answering in `media`. */
    serve(req: IncomingMessage, res: ServerResponse, body: Buffer, media: Answer): Promise<void> {
      if (body.length === 0) {
        refuse(req, res, requestError('The request has no body: send a JSON object with a "query".'), media);
        return Promise.resolve();
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        refuse(req, res, requestError('The request body is not valid JSON.'), media);
        return Promise.resolve();
      }
      const read = readParams(parsed);
      if (read instanceof GraphQLError) {
        refuse(req, res, read, media);
        return Promise.resolve();
      }
      const resolved = options.persisted === undefined ? read : options.persisted.resolve(read);
      if (resolved instanceof Promise)
        return resolved.then(
          (params) => start(req, res, params, media),
          // The store never rejects; anything else is ours, answered masked.
          (error: unknown) => refuse(req, res, maskError(error) as GraphQLError, media, 500),
        );
      return start(req, res, resolved, media);
    },
  };

  /** Runs the request once its persisted query (if any) has been resolved. */
  function start(
    req: IncomingMessage,
    res: ServerResponse,
    params: GraphQLParams | GraphQLError,
    media: Answer,
  ): Promise<void> {
    if (params instanceof GraphQLError) {
      refuse(req, res, params, media);
      return Promise.resolve();
    }
    if (params.query === undefined || params.query === '') {
      refuse(req, res, requestError('Must provide a "query" string.'), media);
      return Promise.resolve();
    }
    return run(req, res, params as GraphQLParams & { query: string }, media);
  }
}
