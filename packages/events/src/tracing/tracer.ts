import { activeTracer } from '@backlot/metrics-core/tracing';
import type { Tracer } from '@opentelemetry/api';

/** The instrumentation scope of the spans of `@backlot/events` (emits and processed records). */
export const EVENTS_TRACER_NAME = '@backlot/events';

/**
 * The events tracer, or `undefined` while no tracer provider is registered
 * (no OpenTelemetry SDK): `emit()` and the pipeline then create no span,
 * context, header or attribute object, so tracing costs one check when off.
 * @internal
 */
export function eventsTracer(): Tracer | undefined {
  return activeTracer(EVENTS_TRACER_NAME);
}
