import { type Context, context, TraceFlags, trace } from '@opentelemetry/api';

/**
 * Whether the active span (or the one in `ctx`) belongs to a trace that was
 * sampled out: work inside it can skip its span altogether, as the SDK's
 * default parent-based sampler would not record it either, while the context
 * already active carries the trace on (W3C: an unsampled trace still
 * propagates, with flags `00`). Without an active span, `false`: the sampler
 * decides for a new root.
 *
 * @example
 * ```ts
 * import { insideUnsampledTrace } from '@backlot/metrics-core/tracing';
 *
 * console.log(insideUnsampledTrace()); // false: no span is active
 * ```
 */
export function insideUnsampledTrace(ctx: Context = context.active()): boolean {
  const parent = trace.getSpan(ctx);
  return parent !== undefined && (parent.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}
