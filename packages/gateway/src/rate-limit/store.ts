/** The shape of a token bucket: the burst it allows and how fast it refills. */
export interface TokenBucket {
  /** Tokens the bucket holds at most: the burst allowed. */
  readonly capacity: number;
  /** Tokens added per second: the sustained rate. */
  readonly refillPerSecond: number;
}

/** A store's answer to one {@link RateLimitStore.take}. */
export interface TakeResult {
  /** True when a token was taken: the request may pass. */
  readonly allowed: boolean;
  /** Tokens left in the bucket after this take (fractional). */
  readonly remaining: number;
  /** When refused: milliseconds until a token is available (0 when allowed). */
  readonly retryAfterMs: number;
}

/**
 * Where the rate-limit filter keeps its token buckets. The in-process
 * {@link MemoryRateLimitStore} is the default (one set of buckets per
 * gateway process); {@link RedisRateLimitStore} shares them across a fleet.
 *
 * `take` refills the bucket of `key` for the time elapsed, then takes one
 * token if there is one, as one atomic step. It may answer synchronously (no
 * `await` on the hot path) or with a promise; the filter bounds a promise by
 * its `storeTimeoutMs` and applies the route's `onStoreError` when it
 * rejects or is late.
 *
 * @example
 * ```ts
 * import { MemoryRateLimitStore } from '@backlot/gateway';
 *
 * const store = new MemoryRateLimitStore({ maxKeys: 10_000 });
 * const result = await store.take('ip:203.0.113.7', { capacity: 10, refillPerSecond: 5 });
 * console.log(result.allowed, result.remaining);
 * ```
 */
export interface RateLimitStore {
  /** What kind of store it is (`memory`, `redis`, …), for logs and metrics. */
  readonly kind: string;
  /** Takes one token from the bucket of `key` (created full on first use). */
  take(key: string, bucket: TokenBucket): TakeResult | Promise<TakeResult>;
  /** Releases the store's resources (connections); the gateway never calls it on a store it was given. */
  close?(): Promise<void>;
}
