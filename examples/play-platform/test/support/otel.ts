import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { installTracing as installPlatformTracing } from '../../src/tracing/install.ts';
import type { TraceBuffer } from '../../src/tracing/trace-buffer.ts';

/**
 * Registers the OpenTelemetry SDK the way `npm start` does (`installTracing`:
 * tracer provider, AsyncLocalStorage context manager, W3C propagator, the
 * dashboard's trace buffer), every trace sampled, with an in-memory exporter
 * beside it; `stop()` unregisters it.
 */
export function installTracing(): {
  spans: () => ReadableSpan[];
  buffer: TraceBuffer;
  stop: () => Promise<void>;
} {
  const exporter = new InMemorySpanExporter();
  const tracing = installPlatformTracing({ sampleRatio: 1, processors: [new SimpleSpanProcessor(exporter)] });
  return { spans: () => exporter.getFinishedSpans(), buffer: tracing.buffer, stop: () => tracing.stop() };
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
