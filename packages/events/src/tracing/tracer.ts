import { ProxyTracerProvider, type Tracer, trace } from '@opentelemetry/api';

/** The instrumentation scope of the spans of `@backlot/events` (emits and processed records). */
export const EVENTS_TRACER_NAME = '@backlot/events';

/** The API's no-op provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

let cachedFor: unknown;
let cachedTracer: Tracer | undefined;

/**
 * The events tracer, or `undefined` while no tracer provider is registered
 * (no OpenTelemetry SDK): `emit()` and the pipeline then create no span,
 * context, header or attribute object, so tracing costs one check when off.
 * @internal
 */
export function eventsTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  // Another copy of the API (CJS next to ESM) registers its own proxy: not ours to inspect, so traced.
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate === NOOP_PROVIDER) return undefined;
  if (delegate !== cachedFor) {
    cachedFor = delegate;
    cachedTracer = provider.getTracer(EVENTS_TRACER_NAME);
  }
  return cachedTracer;
}
