import { ProxyTracerProvider, type Tracer, trace } from '@opentelemetry/api';

/** The instrumentation scope of the storage spans. */
export const TRACER_NAME = '@backlot/storage';

/** The API's no-op provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

let cachedFor: unknown;
let cachedTracer: Tracer | undefined;

/**
 * The storage tracer, or `undefined` while no tracer provider is registered
 * (no SDK): operations then create no span, context or attribute object.
 * @internal
 */
export function currentTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate === NOOP_PROVIDER) return undefined;
  if (delegate !== cachedFor) {
    cachedFor = delegate;
    cachedTracer = provider.getTracer(TRACER_NAME);
  }
  return cachedTracer;
}
