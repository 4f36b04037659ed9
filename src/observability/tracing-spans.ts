/**
 * OpenTelemetry spans: one per GraphQL operation (an envelop plugin, so both HTTP entries get it)
 * and, under it, one per upstream call and job wait (the upstream client's UpstreamTracer hooks).
 * Imported only when tracing is configured (tracing.ts, beside it), so an untraced gateway
 * loads none of it. A span never holds a session, a variable value or the document's text: the
 * operation is named, typed and identified by the document's SHA-256.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  type Context as OtelContext,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { requestTag } from '../request/context.js';
import type { TracedCall, TracedJob, UpstreamTracer } from '../zstack/client.js';
import { publicCode, scopeOf } from './request-scope.js';

const propagator = new W3CTraceContextPropagator();

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

/** The parent a job wait hands its polls: the wait's own span. */
class JobParent {
  constructor(readonly span: Span) {}
}

function operationSpanOf(context: unknown): Span | undefined {
  const scope = scopeOf(requestTag((context as { req?: unknown } | undefined)?.req));
  return scope?.span as Span | undefined;
}

/** The span an upstream call or job wait goes under: the request's operation, or a job wait. */
function parentSpan(parent: unknown): Span | undefined {
  if (parent instanceof JobParent) return parent.span;
  return scopeOf(parent)?.span as Span | undefined;
}

function endWithErrors(span: Span, errors: readonly unknown[] | undefined): void {
  if (errors !== undefined && errors.length > 0) {
    const codes = [...new Set(errors.map(publicCode))];
    span.setAttribute('graphql.error.count', errors.length);
    span.setAttribute('graphql.error.codes', codes);
    span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
  }
  span.end();
}

/** The envelop plugin: a span per operation, continuing an incoming W3C `traceparent`. */
export function createTracingPlugin(tracer: Tracer): Plugin {
  return {
    onParse({ context, params }) {
      const req = (context as { req?: { headers?: IncomingHttpHeaders } }).req;
      const scope = scopeOf(requestTag(req));
      if (scope === undefined) return;
      const parent: OtelContext = req?.headers
        ? propagator.extract(ROOT_CONTEXT, req.headers, headerGetter)
        : ROOT_CONTEXT;
      const span = tracer.startSpan('graphql.operation', { kind: SpanKind.SERVER }, parent);
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      span.setAttribute(
        'graphql.document.hash',
        `sha256:${createHash('sha256').update(source).digest('hex')}`,
      );
      scope.span = span;
      return ({ result }) => {
        if (result instanceof Error) endWithErrors(span, [result]);
      };
    },
    onValidate({ context, params }) {
      return ({ valid, result }) => {
        const span = operationSpanOf(context);
        if (span === undefined) return;
        if (!valid) return endWithErrors(span, result);
        const name = (context as { params?: { operationName?: unknown } }).params?.operationName;
        const operation = getOperationAST(params.documentAST, typeof name === 'string' ? name : undefined);
        if (!operation) return;
        span.setAttribute('graphql.operation.type', operation.operation);
        if (operation.name !== undefined) span.setAttribute('graphql.operation.name', operation.name.value);
        span.updateName(
          operation.name === undefined
            ? operation.operation
            : `${operation.operation} ${operation.name.value}`,
        );
      };
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          const span = operationSpanOf(args.contextValue);
          if (span === undefined) return;
          // A streamed result (@defer) ends the span at its first payload.
          endWithErrors(
            span,
            Symbol.asyncIterator in result ? undefined : (result as ExecutionResult).errors,
          );
        },
      };
    },
    onSubscribe({ args }) {
      // A subscription's span covers its start, not the stream (which may last for hours).
      const span = operationSpanOf(args.contextValue);
      if (span !== undefined) span.end();
    },
  };
}

function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** The upstream client's hooks: a CLIENT span per call (its id goes upstream as `traceparent`), one per job wait. */
export function createUpstreamTracer(tracer: Tracer): UpstreamTracer {
  return {
    startCall(method, route, parent): TracedCall | undefined {
      const under = parentSpan(parent);
      if (under === undefined) return undefined;
      const span = tracer.startSpan(
        `${method} ${route}`,
        { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.template': route } },
        trace.setSpan(ROOT_CONTEXT, under),
      );
      return {
        traceparent: traceparentOf(span),
        end(status) {
          if (status === 'error') {
            span.setAttribute('error.type', 'no_answer');
            span.setStatus({ code: SpanStatusCode.ERROR });
          } else {
            span.setAttribute('http.response.status_code', status);
            // OpenTelemetry's HTTP client convention: any 4xx or 5xx answer is an error, ZStack's 503
            // with an ErrorCode included (its failures, e.g. a refused or expired session, come that way).
            if (status >= 400) {
              span.setAttribute('error.type', String(status));
              span.setStatus({ code: SpanStatusCode.ERROR });
            }
          }
          span.end();
        },
      };
    },
    startJob(route, parent): TracedJob | undefined {
      const under = parentSpan(parent);
      if (under === undefined) return undefined;
      const span = tracer.startSpan(
        'zstack.job.wait',
        { attributes: { 'zstack.job.route': route } },
        trace.setSpan(ROOT_CONTEXT, under),
      );
      return {
        parent: new JobParent(span),
        end(outcome, polls) {
          span.setAttribute('zstack.job.outcome', outcome);
          span.setAttribute('zstack.job.polls', polls);
          if (outcome !== 'succeeded') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
          span.end();
        },
      };
    },
  };
}
