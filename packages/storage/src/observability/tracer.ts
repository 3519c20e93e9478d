import { activeTracer } from '@backlot/metrics-core/tracing';
import type { Tracer } from '@opentelemetry/api';

/** The instrumentation scope of the storage spans. */
export const TRACER_NAME = '@backlot/storage';

/**
 * The storage tracer, or `undefined` while no tracer provider is registered
 * (no SDK): operations then create no span, context or attribute object.
 * @internal
 */
export function currentTracer(): Tracer | undefined {
  return activeTracer(TRACER_NAME);
}
