const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/resilience` throws. */
export type ResilienceErrorCode = 'BACKLOT_TIMEOUT' | 'BACKLOT_ABORTED';

/**
 * Base class of the package's errors. Recognise them by `code` (stable across
 * versions and across two copies of the package in one tree), not only by
 * `instanceof`.
 */
export class ResilienceError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: ResilienceErrorCode;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: ResilienceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown when an operation does not settle within its time budget. */
export class TimeoutError extends ResilienceError {
  /** The budget that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options?: ErrorOptions) {
    super('BACKLOT_TIMEOUT', `operation timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** Thrown when the caller's own `AbortSignal` aborts the operation. */
export class AbortedError extends ResilienceError {
  constructor(options?: ErrorOptions) {
    super('BACKLOT_ABORTED', 'operation aborted by the caller', options);
  }
}

function hasCode(error: unknown, code: ResilienceErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    (error as { code?: unknown }).code === code
  );
}

/** True when `error` is a {@link TimeoutError}, from any copy of the package. */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return hasCode(error, 'BACKLOT_TIMEOUT');
}

/** True when `error` is an {@link AbortedError}, from any copy of the package. */
export function isAbortedError(error: unknown): error is AbortedError {
  return hasCode(error, 'BACKLOT_ABORTED');
}
