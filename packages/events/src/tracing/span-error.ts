import { type Span, SpanStatusCode } from '@opentelemetry/api';

/** Marks `span` failed with `error`: the exception event, `error.type` (its code, else its name) and an error status. @internal */
export function recordError(span: Span, error: unknown): void {
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
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
