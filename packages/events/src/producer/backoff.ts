/** @internal the producer's retry delays (`retry` option), in ms. */
export interface BackoffOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * @internal The delay before sending again after the `failures`-th failure in a row:
 * exponential from `initialDelayMs`, capped at `maxDelayMs`, with jitter (half to all of it).
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 20);
  return Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** exponent) * (0.5 + random() / 2);
}
