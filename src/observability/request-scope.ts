import type { IncomingMessage } from 'node:http';
import { type DocumentNode, type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode, maskError } from '../errors.js';
import { REQUEST_TAG, requestTag, type ScopedRequest } from '../request/context.js';

/** Which documented route served a request (src/http/router.ts decides it). */
export type Entry = 'graphql-post' | 'multipart' | 'yoga' | 'cors-preflight' | 'refused' | 'websocket';

/**
 * What one HTTP request accumulates for its log line and metrics. It rides on the node request
 * (REQUEST_TAG) into the GraphQL context (typed: Context.scope) and from there on every upstream
 * call's events, so no AsyncLocalStorage is needed (on Node 20 it taxes every promise of every request).
 */
export class RequestScope {
  /** The route that served the request. */
  entry: Entry | undefined = undefined;
  /** The operation's name, once its document parsed and validated (never raw input). */
  operation: string | undefined = undefined;
  /**
   * ZStack accepted the request's session: one of its upstream calls that need a session answered
   * 2xx. Only such requests name a metrics label of their own (src/observability/metrics.ts).
   */
  identified = false;
  /** The first `extensions.code` the caller gets, if any. */
  code: string | undefined = undefined;
  errors = 0;
  upstreamCalls = 0;
  upstreamMs = 0;
  jobs = 0;
  jobPolls = 0;
  jobWaitMs = 0;
  /** When the request arrived (performance.now()). */
  readonly started = performance.now();
  /** Its response finished or its connection closed: logged and counted. */
  ended = false;
  /** The operation's span when tracing is on (src/observability/tracing-spans.ts); opaque here. */
  span: unknown = undefined;
  /** The document being validated, for its operation's name once it is valid (the scope plugin). */
  validating: DocumentNode | undefined = undefined;
  constructor(
    readonly id: string,
    readonly session: string | undefined,
    /** The request's path, for the log line. */
    readonly path: string,
  ) {}

  /** Counts a result's errors and keeps the first code a caller sees (masking applied). */
  noteErrors(errors: readonly unknown[] | undefined): void {
    if (errors === undefined || errors.length === 0) return;
    this.errors += errors.length;
    this.code ??= publicCode(errors[0]);
  }
}

/** The `extensions.code` an error reaches the caller with, by the one mapping (errors.ts). */
export function publicCode(error: unknown): string {
  const code = (maskError(error) as { extensions?: { code?: unknown } }).extensions?.code;
  return typeof code === 'string' ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** Puts a new scope on the node request; the GraphQL context finds it there. */
export function attachScope(req: IncomingMessage & ScopedRequest, scope: RequestScope): void {
  req[REQUEST_TAG] = scope;
}

/**
 * The scope an upstream call's event carries back: src/zstack passes its callers' `tag` through
 * untyped (it knows nothing of HTTP), so this is the one place it is recognised again.
 */
export function scopeOf(tag: unknown): RequestScope | undefined {
  return tag instanceof RequestScope ? tag : undefined;
}

/** The scope the HTTP layer attached to a node request. */
export function scopeOfRequest(req: ScopedRequest): RequestScope | undefined {
  return requestTag(req);
}

/** The scope of a pipeline's context: on its node request (every HTTP entry puts `req` there). */
function scopeIn(context: unknown): RequestScope | undefined {
  return requestTag((context as { req?: unknown } | undefined)?.req);
}

/**
 * The envelop plugin that fills a request's scope, on whichever HTTP entry it came: the operation
 * name once validated, parse and validation failures' codes, execution errors, and each error that
 * masking turns into "Unexpected error." (reported, with the scope, to be logged).
 */
export function createScopePlugin(
  onMasked: (error: unknown, scope: RequestScope | undefined) => void,
): Plugin {
  const noteResult = (scope: RequestScope | undefined, result: ExecutionResult) => {
    const errors = result.errors;
    if (errors === undefined) return;
    scope?.noteErrors(errors);
    for (const error of errors)
      if (publicCode(error) === ErrorCode.INTERNAL_SERVER_ERROR) onMasked(error, scope);
  };
  /** Errors of parse or validation: counted, and any the caller sees masked is logged too. */
  const noteRefusals = (scope: RequestScope | undefined, errors: readonly Error[]) => {
    scope?.noteErrors(errors);
    for (const error of errors)
      if (publicCode(error) === ErrorCode.INTERNAL_SERVER_ERROR) onMasked(error, scope);
  };
  // The hooks and their callbacks are made once: each finds the request's scope in the payload.
  const onParseDone = ({ context, result }: { context: unknown; result: unknown }) => {
    if (result instanceof Error) noteRefusals(scopeIn(context), [result]);
  };
  const onValidateDone = ({
    context,
    valid,
    result,
  }: {
    context: unknown;
    valid: boolean;
    result: readonly Error[];
  }) => {
    const scope = scopeIn(context);
    if (!valid) noteRefusals(scope, result);
    if (scope === undefined) return;
    const document = scope.validating;
    scope.validating = undefined;
    if (!valid) return;
    if (document === undefined) return;
    const name = (context as { params?: { operationName?: unknown } }).params?.operationName;
    scope.operation = getOperationAST(document, typeof name === 'string' ? name : undefined)?.name?.value;
  };
  const onExecuteDone = {
    onExecuteDone({
      args,
      result,
    }: {
      args: { contextValue: unknown };
      result: ExecutionResult | AsyncIterable<unknown>;
    }) {
      if (!(Symbol.asyncIterator in result)) noteResult(scopeIn(args.contextValue), result);
    },
  };
  return {
    onParse: () => onParseDone,
    onValidate: ({ context, params }) => {
      const scope = scopeIn(context);
      if (scope !== undefined) scope.validating = params.documentAST;
      return onValidateDone;
    },
    onExecute: () => onExecuteDone,
  };
}
