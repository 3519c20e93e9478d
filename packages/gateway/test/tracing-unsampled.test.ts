import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { echo, get, startGateway, startOrigin } from './helpers.js';

/**
 * The OpenTelemetry SDK as a service registers it (context manager, W3C
 * propagator, a tracer provider), with the given sampler and an in-memory
 * exporter: what the gateway records and what it propagates when the
 * sampler says no.
 */
function installSdk(sampler: ParentBasedSampler | AlwaysOffSampler): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  return exporter;
}

afterEach(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A filter that starts a span of its own, as a user's filter would: it must see the request's trace as parent. */
const ownSpanFilter = {
  name: 'own-span',
  phase: 'inbound' as const,
  run() {
    trace.getTracer('user-filter').startSpan('user filter work').end();
  },
};

describe('OpenTelemetry with sampling off', () => {
  it('records nothing under an unsampled caller, and still propagates its trace upstream with flags 00', async () => {
    // Parent-based, sampling every root: only the unsampled parent keeps spans out.
    const exporter = installSdk(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const api = await startOrigin(echo);
    const [, base] = await startGateway(
      {
        origins: { items: { servers: [api] } },
        filters: [{ type: 'requestId' }],
        routes: [{ id: 'items', pathPrefix: '/api', origin: 'items' }],
      },
      { filters: [ownSpanFilter] },
    );
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    for (let i = 0; i < 3; i++) {
      const response = await get(`${base}/api/items`, { headers: { traceparent: incoming } });
      expect(response.status).toBe(200);
      const sent = (JSON.parse(response.text) as { headers: Record<string, string> }).headers.traceparent;
      const match = TRACEPARENT.exec(sent ?? '');
      expect(match?.[1]).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(match?.[2]).not.toBe('00f067aa0ba902b7'); // the gateway is a hop: a parent id of its own
      expect(match?.[3]).toBe('00');
    }
    // No server, phase, origin, command or user-filter span: the filter's and the
    // command's spans saw the unsampled request as their parent.
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([]);
  });

  it('starts no span but a root with AlwaysOff, and sends that root trace upstream unsampled', async () => {
    const exporter = installSdk(new AlwaysOffSampler());
    const seen: string[] = [];
    const api = await startOrigin((req, res) => {
      seen.push(String(req.headers.traceparent));
      echo(req, res);
    });
    const [, base] = await startGateway({
      origins: { items: { servers: [api] } },
      routes: [{ id: 'items', pathPrefix: '/', origin: 'items' }],
    });
    expect((await get(`${base}/a`)).status).toBe(200);
    expect((await get(`${base}/b`)).status).toBe(200);
    expect(seen).toHaveLength(2);
    const [first, second] = seen.map((value) => TRACEPARENT.exec(value));
    expect(first?.[3]).toBe('00');
    expect(second?.[3]).toBe('00');
    expect(first?.[1]).not.toBe(second?.[1]); // one new trace per request
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('records the origin attempt as a child of the server span when sampled', async () => {
    const exporter = installSdk(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const api = await startOrigin(echo);
    const [, base] = await startGateway(
      {
        origins: { items: { servers: [api] } },
        routes: [{ id: 'items', pathPrefix: '/', origin: 'items' }],
      },
      { filters: [ownSpanFilter] },
    );
    expect((await get(`${base}/x`)).status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.name.startsWith('GET /'));
    // The origin's policy steps (breaker, limit, timeout) add no span: the attempt's client span is the server span's child.
    const attempt = spans.find((span) => span.kind === SpanKind.CLIENT);
    const own = spans.find((span) => span.name === 'user filter work');
    const inbound = spans.find((span) => span.name === 'gateway.filters.inbound');
    expect(server).toBeDefined();
    expect(attempt?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(own?.parentSpanContext?.spanId).toBe(inbound?.spanContext().spanId);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
  });
});
