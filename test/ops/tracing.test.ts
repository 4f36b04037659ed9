import { createHash } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTracing, type Tracing } from '../../src/observability/tracing.js';
import { wsClient, wsRequest } from '../helpers/ws.js';
import { CHANGE, type OpsHarness, startOps } from './support.js';

const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN = '00f067aa0ba902b7';

let h: OpsHarness;
let exporter: InMemorySpanExporter;
let tracing: Tracing;

beforeAll(async () => {
  exporter = new InMemorySpanExporter();
  tracing = createTracing({ exporter });
  // Every write waits for its job: a job-wait span with its polls.
  h = await startOps({ tracer: tracing, simulator: { jobLatencyMs: 30 } });
});
afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});
beforeEach(() => {
  h.simulator.controls.reset();
  h.simulator.controls.setJobLatency(30);
  exporter.reset();
});

const kids = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('OpenTelemetry traces', () => {
  it('a mutation over a WebSocket: its operation span, with a child span per upstream call', async () => {
    const session = await h.adminSession();
    const ticket = h.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    exporter.reset();
    const client = wsClient(h.url, { session });
    try {
      const res = await wsRequest(client, CHANGE, { input: { uuid: ticket, statusEvent: 'APPROVE' } });
      expect(res.errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
    const spans = exporter.getFinishedSpans();
    const op = spans.find((s) => s.name === 'mutation Change') as ReadableSpan;
    expect(op).toBeDefined();
    expect(op.attributes['graphql.operation.type']).toBe('mutation');
    expect(kids(spans, op).length).toBeGreaterThan(0);
  });

  it('a mutation: one operation span continuing traceparent, a span per upstream call and job wait, traceparent sent upstream', async () => {
    const session = await h.adminSession();
    const ticket = h.simulator.controls.listTickets().find((t) => t.status === 'Pending')?.uuid as string;
    const comment = 'secret-comment-value';
    h.simulator.controls.clearRequests();
    exporter.reset();

    const res = await h.gql(
      CHANGE,
      { input: { uuid: ticket, statusEvent: 'APPROVE', comment } },
      { session, headers: { traceparent: `00-${INCOMING_TRACE}-${INCOMING_SPAN}-01` } },
    );
    expect(res.body.errors).toBeUndefined();

    const spans = exporter.getFinishedSpans();
    const operation = spans.find((s) => s.name === 'mutation Change');
    expect(operation).toBeDefined();
    const op = operation as ReadableSpan;
    expect(op.spanContext().traceId).toBe(INCOMING_TRACE);
    expect(op.parentSpanContext?.spanId).toBe(INCOMING_SPAN);
    expect(op.attributes).toMatchObject({
      'graphql.operation.name': 'Change',
      'graphql.operation.type': 'mutation',
      'graphql.document.hash': `sha256:${createHash('sha256').update(CHANGE).digest('hex')}`,
    });
    expect(op.attributes['graphql.error.codes']).toBeUndefined();

    const calls = kids(spans, op).filter((s) => s.name.startsWith('PUT '));
    expect(calls.map((s) => s.name)).toEqual(['PUT /v1/tickets/{uuid}/actions']);
    const put = calls[0] as ReadableSpan;
    expect(put.attributes).toMatchObject({
      'http.request.method': 'PUT',
      'url.template': '/v1/tickets/{uuid}/actions',
      'http.response.status_code': 202,
    });
    const [wait] = kids(spans, op).filter((s) => s.name === 'zstack.job.wait');
    expect(wait?.attributes).toMatchObject({ 'zstack.job.outcome': 'succeeded' });
    const polls = kids(spans, wait as ReadableSpan);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(wait?.attributes['zstack.job.polls']).toBe(polls.length);
    expect(polls.every((s) => s.name === 'GET /v1/api-jobs/{uuid}')).toBe(true);

    // What ZStack saw: each call carries traceparent naming its own span, in the caller's trace.
    const seen = h.simulator.controls.requests;
    const putSeen = seen.find((r) => r.method === 'PUT');
    expect(putSeen?.headers.traceparent).toBe(`00-${INCOMING_TRACE}-${put.spanContext().spanId}-01`);
    const pollIds = seen.filter((r) => r.path.includes('/api-jobs/')).map((r) => r.headers.traceparent);
    expect(new Set(pollIds)).toEqual(
      new Set(polls.map((s) => `00-${INCOMING_TRACE}-${s.spanContext().spanId}-01`)),
    );
    for (const r of seen)
      expect(r.headers.traceparent).toMatch(new RegExp(`^00-${INCOMING_TRACE}-[0-9a-f]{16}-01$`));

    // Never a session, a variable value or the document's text in any span.
    const text = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    for (const secret of [session, ticket, comment, 'changeTicketStatus']) expect(text).not.toContain(secret);
  });

  it.each([
    ['a 503 with an ErrorCode', { kind: 'errorCode', code: 'SYS.1000', description: 'internal' }, 503],
    ['a plain-text 500', { kind: 'http500', text: 'boom' }, 500],
  ] as const)('an upstream failure (%s) sets its client span to ERROR', async (_name, fault, status) => {
    const session = await h.adminSession();
    h.simulator.controls.injectFault({ fault: fault as never, method: 'GET', path: '/v1/tickets' });
    exporter.reset();
    const res = await h.gql('query Mine { tickets(first: 1) { nodes { uuid } } }', {}, { session });
    expect(res.body.errors?.[0]?.extensions?.code).toBeDefined();
    const calls = exporter.getFinishedSpans().filter((s) => s.name === 'GET /v1/tickets');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.attributes['http.response.status_code']).toBe(status);
    expect(calls[0]?.attributes['error.type']).toBe(String(status));
    expect(calls[0]?.status.code).toBe(2); // ERROR
  });

  it('an operation without traceparent starts a trace of its own; refusals carry their codes', async () => {
    const res = await h.gql('query Mine { tickets(first: 1) { nodes { uuid } } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const op = exporter.getFinishedSpans().find((s) => s.name === 'query Mine') as ReadableSpan;
    expect(op.parentSpanContext).toBeUndefined();
    expect(op.attributes['graphql.error.codes']).toEqual(['UNAUTHENTICATED']);
    expect(op.status.code).toBe(2); // ERROR

    exporter.reset();
    const invalid = await h.gql('query Broken { nope }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes['graphql.error.codes']).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('without OTEL settings', () => {
  it('sends no traceparent upstream', async () => {
    const plain = await startOps();
    try {
      await plain.adminSession();
      const seen = plain.simulator.controls.requests;
      expect(seen.length).toBeGreaterThan(0);
      for (const r of seen) expect(r.headers.traceparent).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
