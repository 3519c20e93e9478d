/**
 * A concurrency limit algorithm: it learns how many calls may be in flight at
 * once from the round-trip times and drops of the calls that complete. The
 * TypeScript counterpart of Netflix concurrency-limits' `Limit`.
 *
 * Hand one to an {@link AdaptiveLimiter}, or feed it samples yourself.
 */
export interface ConcurrencyLimit {
  /** The current limit: a whole number, at least 1. */
  readonly limit: number;
  /**
   * Records one completed call.
   *
   * @param startTimeMs - when the call started, on the clock of the caller (e.g. `performance.now()`).
   * @param rttMs - how long the call took, in milliseconds.
   * @param inflight - how many calls were in flight when this one started, itself included.
   * @param didDrop - true when the call was dropped (timed out, rejected by the dependency as overloaded…).
   */
  onSample(startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): void;
  /**
   * Calls `listener` with the new limit each time it changes.
   *
   * @returns a function that removes the listener (calling it again is a no-op).
   */
  onChange(listener: (limit: number) => void): () => void;
}

/**
 * A function of the current limit, used by {@link vegasLimit} (alpha, beta,
 * threshold, increase, decrease) and {@link gradient2Limit} (queueSize).
 */
export type LimitFunction = (limit: number) => number;
