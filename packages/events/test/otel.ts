import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { installTracing } from '../../resilience/test/otel.js';

/**
 * A real OpenTelemetry SDK for one test (in-memory exporter, AsyncLocalStorage
 * context manager) with the W3C trace-context propagator, as an application's
 * SDK set-up registers it; `stop()` unregisters all three.
 */
export function installEventsTracing(sampler?: Sampler): ReturnType<typeof installTracing> {
  const tracing = installTracing(sampler);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    spans: tracing.spans,
    stop: async () => {
      await tracing.stop();
      propagation.disable();
    },
  };
}
