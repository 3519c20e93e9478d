import { ProxyTracerProvider, type Tracer, trace } from '@opentelemetry/api';

/** The API's no-op provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

const cache = new Map<string, { for: unknown; tracer: Tracer }>();

/**
 * The tracer of instrumentation scope `name`, or `undefined` while no tracer
 * provider is registered (no OpenTelemetry SDK): callers then create no span,
 * context or attribute object at all, so tracing costs one check when off.
 * Shared by the Backlot packages that depend on this one (the gateway).
 */
export function activeTracer(name: string): Tracer | undefined {
  const provider = trace.getTracerProvider();
  // Another copy of the API (CJS next to ESM) registers its own proxy: not ours to inspect, so traced.
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate === NOOP_PROVIDER) return undefined;
  const cached = cache.get(name);
  if (cached?.for === delegate) return cached.tracer;
  const tracer = provider.getTracer(name);
  cache.set(name, { for: delegate, tracer });
  return tracer;
}
