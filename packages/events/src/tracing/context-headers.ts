import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';

/** Writes propagation fields (`traceparent`, `tracestate`, …) into a record's text headers. */
const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Reads propagation fields from a consumed record's text headers (names as written: lower case). */
const headerGetter: TextMapGetter<Readonly<Record<string, string>> | undefined> = {
  keys(carrier) {
    return carrier ? Object.keys(carrier) : [];
  },
  get(carrier, key) {
    if (!carrier) return undefined;
    const value = carrier[key];
    if (typeof value === 'string') return value;
    // Kafka header names are case-sensitive, W3C's are not: another producer may have written `Traceparent`.
    for (const name in carrier) if (name.toLowerCase() === key) return carrier[name];
    return undefined;
  },
};

/**
 * The record headers that carry `ctx` (by default the active context) through
 * the broker, written by the globally registered propagator (W3C trace context
 * with an OpenTelemetry SDK); `undefined` when it writes nothing.
 * @internal
 */
export function injectTraceHeaders(ctx: Context = context.active()): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers, headerSetter);
  for (const _ in headers) return headers;
  return undefined;
}

/**
 * The span context a producer wrote into a consumed record's headers, or
 * `undefined` when it has none or it is not valid (a malformed `traceparent`
 * never throws: the record is processed in a new trace).
 * @internal
 */
export function extractSpanContext(headers: Readonly<Record<string, string>> | undefined): SpanContext | undefined {
  if (headers === undefined) return undefined;
  let extracted: Context;
  try {
    extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  } catch {
    // A third-party propagator that throws on hostile input: treat the record as untraced.
    return undefined;
  }
  const spanContext = trace.getSpanContext(extracted);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}
