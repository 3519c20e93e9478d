import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { TraceBuffer } from './trace-buffer.ts';

/**
 * Registers an OpenTelemetry SDK for the platform's process, as a service's
 * start-up would (tracer provider, AsyncLocalStorage context manager, W3C
 * propagator): a share `sampleRatio` (0–1) of the traces started here is
 * recorded, and a trace a caller sampled is followed. Spans go to an in-memory
 * {@link TraceBuffer} (the dashboard's waterfall; `buffer: false` for a process
 * whose spans go elsewhere) and to `processors` (e.g. an OTLP exporter, or a
 * gateway instance's `ParentProcessSpanExporter`). `stop()` unregisters
 * the SDK.
 */
export function installTracing(
  options: { sampleRatio?: number; processors?: SpanProcessor[]; buffer?: boolean } = {},
): {
  buffer: TraceBuffer;
  stop(): Promise<void>;
} {
  const ratio = options.sampleRatio ?? 1;
  const buffer = new TraceBuffer();
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({
      root: ratio <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(Math.min(1, ratio)),
    }),
    spanProcessors: [...(options.buffer === false ? [] : [buffer]), ...(options.processors ?? [])],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    buffer,
    async stop() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
