/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff and Jitter"): the delay before retry `n` (1-based) is uniform in
 * `[0, min(maxDelayMs, baseDelayMs · 2^(n-1))]`, which spreads retries of many
 * clients apart instead of synchronising them.
 */
export function fullJitterDelay(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * (ceiling + 1));
}
