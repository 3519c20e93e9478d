import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { GatewayContext } from '../context.js';
import { defineFilter, type Filter } from '../filter.js';

/** Options of {@link rateLimitFilter}. */
export interface RateLimitOptions {
  /** What a bucket is per: client IP, API key or JWT subject. */
  key: 'ip' | 'apiKey' | 'jwtSubject';
  /** Bucket size: the burst allowed. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Header carrying the API key (for `key: 'apiKey'`). */
  apiKeyHeader: string;
  /** Buckets kept at most; the least recently used are dropped. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key. A request takes one token; an empty bucket answers
 * 429 with `Retry-After`. Buckets refill lazily (no timers), and at most
 * `maxKeys` are kept (least recently used first out).
 */
export function rateLimitFilter(
  options: RateLimitOptions,
  now: () => number = performance.now.bind(performance),
): Filter {
  const buckets = new Map<string, Bucket>();
  const header = options.apiKeyHeader.toLowerCase();
  const keyOf = (ctx: GatewayContext): string | undefined => {
    if (options.key === 'ip') return ctx.clientIp;
    if (options.key === 'jwtSubject') return ctx.auth?.subject;
    const value = ctx.req.headers[header];
    return typeof value === 'string' ? createHash('sha256').update(value).digest('base64') : undefined;
  };
  return defineFilter({
    name: 'rateLimit',
    phase: 'inbound',
    order: -700,
    run(ctx) {
      const key = keyOf(ctx) ?? `anonymous:${ctx.clientIp}`;
      const t = now();
      let bucket = buckets.get(key);
      if (bucket) {
        buckets.delete(key); // re-insert: Map order is recency order
        bucket.tokens = Math.min(options.capacity, bucket.tokens + ((t - bucket.at) / 1000) * options.refillPerSecond);
        bucket.at = t;
      } else {
        bucket = { tokens: options.capacity, at: t };
        if (buckets.size >= options.maxKeys) {
          const oldest = buckets.keys().next().value;
          if (oldest !== undefined) buckets.delete(oldest);
        }
      }
      buckets.set(key, bucket);
      if (bucket.tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / options.refillPerSecond));
        throw new GatewayError('BACKLOT_GATEWAY_RATE_LIMITED', `rate limit of ${options.capacity} exceeded`, {
          headers: { 'retry-after': String(wait) },
        });
      }
      bucket.tokens -= 1;
    },
  });
}
