import { ProxyTracerProvider, type Tracer, trace } from '@opentelemetry/api';

/** The API's no-op provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** The tracer of each instrumentation scope, with the provider it came from (an SDK registered later replaces it). */
const cache = new Map<string, { readonly for: unknown; readonly tracer: Tracer }>();

/**
 * The tracer of instrumentation scope `name`, or `undefined` while no tracer
 * provider is registered (no OpenTelemetry SDK): callers then create no span,
 * context or attribute object at all, so tracing costs this one check when
 * off. The tracer is looked up once per provider: an SDK registered (or
 * replaced) later is seen on the next call.
 *
 * Another copy of `@opentelemetry/api` (a CommonJS one next to an ESM one)
 * registers a provider this copy cannot inspect: it counts as registered.
 *
 * @param name - the instrumentation scope, e.g. `'@backlot/events'`
 *
 * @example
 * ```ts
 * import { activeTracer } from '@backlot/metrics-core/tracing';
 *
 * const tracer = activeTracer('my-service');
 * if (tracer) tracer.startSpan('work').end();
 * ```
 */
export function activeTracer(name: string): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate === NOOP_PROVIDER) return undefined;
  const cached = cache.get(name);
  if (cached?.for === delegate) return cached.tracer;
  const tracer = provider.getTracer(name);
  cache.set(name, { for: delegate, tracer });
  return tracer;
}
