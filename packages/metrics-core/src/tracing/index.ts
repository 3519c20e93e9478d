// `@backlot/metrics-core/tracing`: the OpenTelemetry helpers the Backlot
// packages share. A subpath of its own, so that the main entry never loads
// `@opentelemetry/api` (an optional peer, needed by this entry only).
export { activeTracer } from './active-tracer.js';
export { insideUnsampledTrace } from './sampling.js';
export { recordSpanError } from './span-error.js';
