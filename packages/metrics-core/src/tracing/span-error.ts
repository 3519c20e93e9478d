import { type Span, SpanStatusCode } from '@opentelemetry/api';

/**
 * Marks `span` failed with `error`: the exception event (for an `Error`),
 * `error.type` (the error's string `code`, else its name) and an error status
 * with its message.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { recordSpanError } from '@backlot/metrics-core/tracing';
 *
 * const span = trace.getTracer('example').startSpan('work');
 * recordSpanError(span, Object.assign(new Error('down'), { code: 'BACKLOT_TIMEOUT' }));
 * span.end();
 * ```
 */
export function recordSpanError(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  span.setAttribute(
    'error.type',
    typeof code === 'string'
      ? code
      : error instanceof Error
        ? error.name
        : typeof error === 'string'
          ? 'Error'
          : 'unknown',
  );
  span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
}

/** The status message of a thrown value, never throwing itself (a null-prototype object has no `toString`). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
