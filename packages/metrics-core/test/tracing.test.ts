import { context, type Span, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { activeTracer, insideUnsampledTrace, recordSpanError } from '../src/tracing/index.js';

afterEach(() => {
  trace.disable();
  context.disable();
});

describe('activeTracer', () => {
  it('is undefined without an SDK, and follows the provider registered (or replaced) later', () => {
    expect(activeTracer('scope')).toBeUndefined();
    const first = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(first)] }));
    activeTracer('scope')?.startSpan('one').end();
    expect(activeTracer('scope')).toBe(activeTracer('scope')); // looked up once per provider
    trace.disable();
    expect(activeTracer('scope')).toBeUndefined();
    const second = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(second)] }));
    activeTracer('scope')?.startSpan('two').end();
    expect(first.getFinishedSpans().map((span) => span.name)).toEqual(['one']);
    expect(second.getFinishedSpans().map((span) => [span.name, span.instrumentationScope.name])).toEqual([
      ['two', 'scope'],
    ]);
  });
});

describe('insideUnsampledTrace', () => {
  it('is true only inside a span the sampler dropped', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    expect(insideUnsampledTrace()).toBe(false);
    const sampled = new BasicTracerProvider({ sampler: new AlwaysOnSampler() }).getTracer('t').startSpan('on');
    const dropped = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('t').startSpan('off');
    expect(dropped.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(0);
    expect(context.with(trace.setSpan(context.active(), sampled), () => insideUnsampledTrace())).toBe(false);
    expect(context.with(trace.setSpan(context.active(), dropped), () => insideUnsampledTrace())).toBe(true);
    expect(insideUnsampledTrace(trace.setSpan(context.active(), dropped))).toBe(true);
  });
});

describe('recordSpanError', () => {
  const recorded = () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t');
    return { exporter, span: tracer.startSpan('work') as Span };
  };

  it('names the error by its code, else its name, with the exception and an error status', () => {
    const { exporter, span } = recorded();
    recordSpanError(span, Object.assign(new Error('too slow'), { code: 'BACKLOT_TIMEOUT' }));
    span.end();
    const [ended] = exporter.getFinishedSpans();
    expect(ended?.attributes['error.type']).toBe('BACKLOT_TIMEOUT');
    expect(ended?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'too slow' });
    expect(ended?.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('never throws, whatever was thrown', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true }), (thrown) => {
        const { exporter, span } = recorded();
        recordSpanError(span, thrown);
        span.end();
        const [ended] = exporter.getFinishedSpans();
        expect(typeof ended?.attributes['error.type']).toBe('string');
        expect(ended?.status.code).toBe(SpanStatusCode.ERROR);
      }),
      { numRuns: 300 },
    );
  });
});
