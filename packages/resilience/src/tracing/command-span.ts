import { recordSpanError } from '@backlot/metrics-core/tracing';
import { type Attributes, context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { CircuitState } from '../breaker/circuit-breaker.js';
import type { FailureReason } from '../command/options.js';

/** The instrumentation scope of command spans. */
export const RESILIENCE_TRACER_NAME = '@backlot/resilience';

/** What the runtime notes of one call while it runs, for its span. @internal */
export interface CallTrace {
  /** The last attempt made (1 = no retry). */
  attempt: number;
  /** Why the fallback ran (or would have: a command without one), if it did. */
  fallbackReason: FailureReason | undefined;
}

/** What an unsampled call's runtime writes to: shared, never read. */
const UNRECORDED: CallTrace = { attempt: 1, fallbackReason: undefined };

const OUTCOME_OF_CODE: Record<string, string> = {
  BACKLOT_TIMEOUT: 'timeout',
  BACKLOT_CIRCUIT_OPEN: 'short_circuited',
  BACKLOT_REJECTED: 'rejected',
  BACKLOT_ABORTED: 'aborted',
  BACKLOT_BAD_REQUEST: 'bad_request',
  BACKLOT_FALLBACK_FAILED: 'fallback_failure',
};

/**
 * Runs one command call in a span `command <key>` of `tracer` (callers check
 * first that an OpenTelemetry SDK is registered, `activeTracer`): the span is active while the call
 * runs, so spans of the command's own work nest under it, and ends with
 * `backlot.command.outcome`, `backlot.command.attempt`,
 * `backlot.command.fallback_reason` and `backlot.command.circuit_state`.
 * @internal
 */
export function traceCall<Result>(
  tracer: Tracer,
  key: string,
  group: string,
  circuit: () => CircuitState,
  execute: (trace: CallTrace) => Promise<Result>,
): Promise<Result> {
  const attributes: Attributes = { 'backlot.command.key': key, 'backlot.command.group': group };
  const span = tracer.startSpan(`command ${key}`, { kind: SpanKind.INTERNAL, attributes });
  const active = trace.setSpan(context.active(), span);
  if (!span.isRecording()) {
    // Sampled out: the span only carries the (unsampled) context to the work's own spans.
    span.end();
    return context.with(active, () => execute(UNRECORDED));
  }
  const noted: CallTrace = { attempt: 1, fallbackReason: undefined };
  const end = (outcome: string, error?: unknown) => {
    span.setAttribute('backlot.command.outcome', outcome);
    span.setAttribute('backlot.command.attempt', noted.attempt);
    if (noted.fallbackReason !== undefined) span.setAttribute('backlot.command.fallback_reason', noted.fallbackReason);
    span.setAttribute('backlot.command.circuit_state', circuit());
    if (error !== undefined) recordSpanError(span, error);
    span.end();
  };
  const running = context.with(active, () => execute(noted));
  return running.then(
    (value) => {
      end(noted.fallbackReason === undefined ? 'success' : 'fallback_success');
      return value;
    },
    (error: unknown) => {
      const code = (error as { code?: unknown } | undefined)?.code;
      end((typeof code === 'string' && OUTCOME_OF_CODE[code]) || 'failure', error);
      throw error;
    },
  );
}
