import type { RateLimitStore, TakeResult, TokenBucket } from './store.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Options of {@link MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /** Buckets kept at most; the least recently used are dropped (default 100 000). */
  maxKeys?: number | undefined;
  /** Clock in milliseconds (default `performance.now`), for tests. */
  now?: (() => number) | undefined;
}

/**
 * Token buckets in this process's memory: the default store. Buckets refill
 * lazily (no timers) and at most `maxKeys` are kept, least recently used
 * first out. Each gateway process has its own: a fleet of N gateways allows
 * N times the limit (use {@link RedisRateLimitStore} for one limit per fleet).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  /** `memory`. */
  readonly kind = 'memory';
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? performance.now.bind(performance);
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Refills the bucket of `key`, then takes a token if there is one (synchronous). */
  take(key: string, { capacity, refillPerSecond }: TokenBucket): TakeResult {
    const t = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-insert: Map order is recency order
      bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, t - bucket.at) / 1000) * refillPerSecond);
      bucket.at = t;
    } else {
      bucket = { tokens: capacity, at: t };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      return { allowed: false, remaining: bucket.tokens, retryAfterMs: ((1 - bucket.tokens) / refillPerSecond) * 1000 };
    }
    bucket.tokens -= 1;
    return { allowed: true, remaining: bucket.tokens, retryAfterMs: 0 };
  }
}
