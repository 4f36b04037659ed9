/**
 * OpenTelemetry setup, loaded with `await import()` only when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
 * is set (config.tracing): an untraced gateway loads no OpenTelemetry code at all. The OTLP
 * exporter, sampler and resource read the standard OTEL_* variables themselves.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Plugin } from 'graphql-yoga';
import type { UpstreamTracer } from '../zstack/client.js';
import { createTracingPlugin, createUpstreamTracer } from './tracing-spans.js';

/** What createApp needs to trace: the operation plugin, the upstream hooks, and a flush at exit. */
export interface Tracing {
  plugin: Plugin;
  upstream: UpstreamTracer;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Traces to `exporter` (each span as it ends: tests), or to OTLP over HTTP in batches. The service
 * is `zstack-graphql` unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise.
 */
export function createTracing(options: { exporter?: SpanExporter } = {}): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'zstack-graphql' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const processor =
    options.exporter === undefined
      ? new BatchSpanProcessor(new OTLPTraceExporter())
      : new SimpleSpanProcessor(options.exporter);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('zstack-graphql');
  return {
    plugin: createTracingPlugin(tracer),
    upstream: createUpstreamTracer(tracer),
    shutdown: () => provider.shutdown(),
  };
}
