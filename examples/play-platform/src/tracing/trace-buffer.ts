import type { Context } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** One bar of a waterfall: a span placed in its trace. */
export interface WaterfallSpan {
  name: string;
  /** The instrumentation scope (`@backlot/gateway`, `backlot-service-http`, `@backlot/resilience`, …). */
  scope: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** Depth under the trace's first span (0: a root, or a span whose parent is not in the buffer). */
  depth: number;
  /** Start, from the trace's first span, in ms. */
  offsetMs: number;
  durationMs: number;
  error: boolean;
}

/** One trace, its spans in start order. */
export interface WaterfallTrace {
  traceId: string;
  /** When its first span started (ISO-8601). */
  startedAt: string;
  durationMs: number;
  spans: WaterfallSpan[];
}

const KINDS: Record<SpanKind, WaterfallSpan['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;

/**
 * An OpenTelemetry span processor that keeps the latest finished spans of the
 * process in memory (a ring of `capacity`), for the dashboard's waterfall of
 * the latest plays: no exporter, no collector to run for the demo.
 */
export class TraceBuffer implements SpanProcessor {
  readonly #capacity: number;
  #spans: ReadableSpan[] = [];

  constructor(capacity = 4000) {
    this.#capacity = capacity;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    this.#spans.push(span);
    if (this.#spans.length > this.#capacity * 1.25) this.#spans = this.#spans.slice(-this.#capacity);
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#spans = [];
  }

  /**
   * The latest `limit` traces that contain a span named `match` (default: the
   * Play API's `POST /play`), newest first, each with every span of the buffer
   * in that trace: gateway, Play API, commands, services, store, events and
   * their processing, as far as they ran in this process.
   */
  latest(limit = 5, match = (span: ReadableSpan) => span.name === 'POST /play' && span.kind === SpanKind.SERVER) {
    const byTrace = new Map<string, ReadableSpan[]>();
    for (const span of this.#spans) {
      const id = span.spanContext().traceId;
      const list = byTrace.get(id);
      if (list) list.push(span);
      else byTrace.set(id, [span]);
    }
    const traces: WaterfallTrace[] = [];
    for (const [traceId, spans] of [...byTrace].reverse()) {
      if (traces.length >= limit) break;
      if (!spans.some(match)) continue;
      traces.push(waterfall(traceId, spans));
    }
    return traces;
  }
}

function waterfall(traceId: string, spans: ReadableSpan[]): WaterfallTrace {
  const sorted = [...spans].sort((a, b) => ms(a.startTime) - ms(b.startTime));
  const byId = new Map(sorted.map((span) => [span.spanContext().spanId, span]));
  const depthOf = (span: ReadableSpan): number => {
    let depth = 0;
    for (let parent = span.parentSpanContext?.spanId; parent !== undefined && depth < 64; depth++) {
      const next = byId.get(parent);
      if (next === undefined) break;
      parent = next.parentSpanContext?.spanId;
    }
    return depth;
  };
  const start = ms((sorted[0] as ReadableSpan).startTime);
  const end = Math.max(...sorted.map((span) => ms(span.endTime)));
  return {
    traceId,
    startedAt: new Date(start).toISOString(),
    durationMs: round(end - start),
    spans: sorted.map((span) => ({
      name: span.name,
      scope: span.instrumentationScope.name,
      kind: KINDS[span.kind],
      depth: depthOf(span),
      offsetMs: round(ms(span.startTime) - start),
      durationMs: round(ms(span.duration)),
      error: span.status.code === SpanStatusCode.ERROR,
    })),
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
