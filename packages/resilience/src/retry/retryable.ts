const kRetryable = Symbol.for('backlot.retryable');

/**
 * Marks an error as worth retrying (a transient fault: connection reset, 503,
 * throttling) and returns it. Commands with `retry` retry only marked errors
 * unless given their own `retryOn`.
 *
 * @example
 * ```ts
 * if (response.statusCode === 503) throw markRetryable(new Error('catalog busy'));
 * ```
 */
export function markRetryable<E extends object>(error: E): E {
  Object.defineProperty(error, kRetryable, { value: true, enumerable: false });
  return error;
}

/** Whether `error` was marked with {@link markRetryable} or carries `retryable: true`. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  return (
    (error as { [kRetryable]?: unknown })[kRetryable] === true || (error as { retryable?: unknown }).retryable === true
  );
}
