import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Figures } from './harness.ts';

/** An exporter that discards what it is given: the SDK's own cost, no network. */
const discard: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
};

/** Runs `subject` with an OpenTelemetry SDK registered (sampling every span, or none), then unregisters it. */
export function withOpenTelemetry(sampled: boolean, subject: () => Promise<Figures>): () => Promise<Figures> {
  return async () => {
    const provider = new BasicTracerProvider({
      sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
      spanProcessors: [new BatchSpanProcessor(discard)],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    try {
      return await subject();
    } finally {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    }
  };
}
