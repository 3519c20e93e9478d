const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/resilience` throws. */
export type ResilienceErrorCode =
  | 'BACKLOT_TIMEOUT'
  | 'BACKLOT_ABORTED'
  | 'BACKLOT_CIRCUIT_OPEN'
  | 'BACKLOT_REJECTED'
  | 'BACKLOT_FALLBACK_FAILED'
  | 'BACKLOT_BAD_REQUEST'
  | 'BACKLOT_MISSING_PEER';

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
  /**
   * `true` when the call never started: its deadline passed while it waited
   * for a bulkhead slot (the budget covers the queue, as in Hystrix).
   */
  readonly queued: boolean;

  constructor(timeoutMs: number, options?: ErrorOptions & { command?: string; queued?: boolean }) {
    const what = options?.command ? `command '${options.command}'` : 'operation';
    const where = options?.queued ? ' waiting for a bulkhead slot' : '';
    super('BACKLOT_TIMEOUT', `${what} timed out after ${timeoutMs} ms${where}`, options);
    this.timeoutMs = timeoutMs;
    this.queued = options?.queued ?? false;
  }
}

/** Thrown when the caller's own `AbortSignal` aborts the operation. */
export class AbortedError extends ResilienceError {
  constructor(options?: ErrorOptions) {
    super('BACKLOT_ABORTED', 'operation aborted by the caller', options);
  }
}

/** Thrown (or handed to the fallback) when a command's circuit is open: the call was not attempted. */
export class CircuitOpenError extends ResilienceError {
  /** The command whose circuit is open. */
  readonly command: string;

  constructor(command: string) {
    super('BACKLOT_CIRCUIT_OPEN', `command '${command}' short-circuited: its circuit is open`);
    this.command = command;
  }
}

/** Thrown (or handed to the fallback) when a bulkhead or concurrency limit is full: the call was not attempted. */
export class RejectedError extends ResilienceError {
  /** The command that was rejected. */
  readonly command: string;

  constructor(command: string, why: string) {
    super('BACKLOT_REJECTED', `command '${command}' rejected: ${why}`);
    this.command = command;
  }
}

/** Thrown when a command failed and so did its fallback. `cause` is the fallback's error. */
export class FallbackFailedError extends ResilienceError {
  /** The command whose fallback failed. */
  readonly command: string;
  /** The error that sent the command to its fallback. */
  readonly original: unknown;

  constructor(command: string, original: unknown, fallbackError: unknown) {
    super(
      'BACKLOT_FALLBACK_FAILED',
      `command '${command}' failed (${describe(original)}) and so did its fallback (${describe(fallbackError)})`,
      { cause: fallbackError },
    );
    this.command = command;
    this.original = original;
  }
}

/**
 * Throw this from a command's `run` when the caller is at fault (invalid
 * input, 4xx): it is passed through as is, counted apart, never trips the
 * circuit and never triggers the fallback (Hystrix's `HystrixBadRequestException`).
 */
export class BadRequestError extends ResilienceError {
  constructor(message: string, options?: ErrorOptions) {
    super('BACKLOT_BAD_REQUEST', message, options);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/** True when `error` is a {@link CircuitOpenError}, from any copy of the package. */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return hasCode(error, 'BACKLOT_CIRCUIT_OPEN');
}

/** True when `error` is a {@link RejectedError}, from any copy of the package. */
export function isRejectedError(error: unknown): error is RejectedError {
  return hasCode(error, 'BACKLOT_REJECTED');
}

/** True when `error` is a {@link FallbackFailedError}, from any copy of the package. */
export function isFallbackFailedError(error: unknown): error is FallbackFailedError {
  return hasCode(error, 'BACKLOT_FALLBACK_FAILED');
}

/** True when `error` is a {@link BadRequestError}, from any copy of the package. */
export function isBadRequestError(error: unknown): error is BadRequestError {
  return hasCode(error, 'BACKLOT_BAD_REQUEST');
}
