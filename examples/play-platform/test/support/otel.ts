import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/**
 * Registers a real OpenTelemetry SDK the way a service's set-up does (tracer
 * provider, AsyncLocalStorage context manager, W3C propagator), exporting to
 * memory; `stop()` unregisters all three.
 */
export function installTracing(): { spans: () => ReadableSpan[]; stop: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The spans of one trace as a tree: each span's parent, and its chain of ancestors. */
export function traceTree(spans: readonly ReadableSpan[]) {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  const parentOf = (span: ReadableSpan) => {
    const id = span.parentSpanContext?.spanId;
    return id === undefined ? undefined : byId.get(id);
  };
  return {
    parentOf,
    /** Ancestors from the parent up to the root. */
    ancestors(span: ReadableSpan): ReadableSpan[] {
      const chain: ReadableSpan[] = [];
      for (let at = parentOf(span); at !== undefined; at = parentOf(at)) chain.push(at);
      return chain;
    },
    /** Roots: spans whose parent is not in the set. */
    roots: () => spans.filter((span) => parentOf(span) === undefined),
  };
}

/** One line per span, indented under its parent: `name [scope]`, for a failing assertion's message. */
export function renderTree(spans: readonly ReadableSpan[]): string {
  const tree = traceTree(spans);
  const lines: string[] = [];
  const walk = (span: ReadableSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.name} [${span.instrumentationScope.name}]`);
    for (const child of spans.filter((s) => tree.parentOf(s) === span)) walk(child, depth + 1);
  };
  for (const root of tree.roots()) walk(root, 0);
  return lines.join('\n');
}
