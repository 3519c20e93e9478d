import type { Context } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** One bar of a waterfall: a span placed in its trace. */
export interface WaterfallSpan {
  name: string;
  spanId: string;
  /** Its parent's span id (in this trace, possibly recorded by another process), if any. */
  parentSpanId?: string | undefined;
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

/** The gateway's instrumentation scope: its server span has the same name as the Play API's. */
const GATEWAY = '@backlot/gateway';

const KINDS: Record<SpanKind, WaterfallSpan['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;

/**
 * A finished span as the buffer keeps it: what a waterfall needs, plain data,
 * so that another process (a gateway instance) can send its spans here
 * (`gateway-instance.ts` over its IPC channel, see `span-ipc.ts`).
 */
export interface BufferedSpan {
  name: string;
  scope: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string | undefined;
  /** Start and end, ms since the epoch. */
  startMs: number;
  endMs: number;
  error: boolean;
}

/** The {@link BufferedSpan} of an SDK span. */
export function bufferedSpan(span: ReadableSpan): BufferedSpan {
  return {
    name: span.name,
    scope: span.instrumentationScope.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    startMs: ms(span.startTime),
    endMs: ms(span.endTime),
    error: span.status.code === SpanStatusCode.ERROR,
  };
}

/**
 * An OpenTelemetry span processor that keeps the latest finished spans of the
 * process in memory (a ring of `capacity`), for the dashboard's waterfall of
 * the latest plays: no exporter, no collector to run for the demo.
 */
export class TraceBuffer implements SpanProcessor {
  readonly #capacity: number;
  #spans: BufferedSpan[] = [];

  constructor(capacity = 4000) {
    this.#capacity = capacity;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    this.add([bufferedSpan(span)]);
  }

  /** Adds spans finished elsewhere (another process of the platform: a gateway instance). */
  add(spans: readonly BufferedSpan[]): void {
    this.#spans.push(...spans);
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
  latest(
    limit = 5,
    match = (span: BufferedSpan) =>
      span.name === 'POST /play' && span.kind === SpanKind.SERVER && span.scope !== GATEWAY,
  ) {
    const byTrace = new Map<string, BufferedSpan[]>();
    for (const span of this.#spans) {
      const id = span.traceId;
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

function waterfall(traceId: string, spans: BufferedSpan[]): WaterfallTrace {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs);
  const byId = new Map(sorted.map((span) => [span.spanId, span]));
  const depthOf = (span: BufferedSpan): number => {
    let depth = 0;
    for (let parent = span.parentSpanId; parent !== undefined && depth < 64; depth++) {
      const next = byId.get(parent);
      if (next === undefined) break;
      parent = next.parentSpanId;
    }
    return depth;
  };
  const start = (sorted[0] as BufferedSpan).startMs;
  const end = Math.max(...sorted.map((span) => span.endMs));
  return {
    traceId,
    startedAt: new Date(start).toISOString(),
    durationMs: round(end - start),
    spans: sorted.map((span) => ({
      name: span.name,
      spanId: span.spanId,
      ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
      scope: span.scope,
      kind: KINDS[span.kind],
      depth: depthOf(span),
      offsetMs: round(span.startMs - start),
      durationMs: round(span.endMs - span.startMs),
      error: span.error,
    })),
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
