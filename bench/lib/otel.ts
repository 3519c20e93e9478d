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

/**
 * Registers an OpenTelemetry SDK the way a service does (NodeSDK's defaults
 * without its auto-instrumentations): an AsyncLocalStorage context manager,
 * the W3C trace-context propagator and a tracer provider that samples every
 * span or none (`AlwaysOffSampler`), its spans batched to an exporter that
 * discards them. Returns the function that unregisters it all.
 */
export function installOpenTelemetry(sampled: boolean): () => Promise<void> {
  const provider = new BasicTracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new BatchSpanProcessor(discard)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return async () => {
    // Unregistered at once (the next subject may register its own), then the provider flushed.
    trace.disable();
    propagation.disable();
    context.disable();
    await provider.shutdown();
  };
}

/** Runs `subject` with an OpenTelemetry SDK registered (sampling every span, or none), then unregisters it. */
export function withOpenTelemetry(sampled: boolean, subject: () => Promise<Figures>): () => Promise<Figures> {
  return async () => {
    const uninstall = installOpenTelemetry(sampled);
    try {
      return await subject();
    } finally {
      await uninstall();
    }
  };
}
