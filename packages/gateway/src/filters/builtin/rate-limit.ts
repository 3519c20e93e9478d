import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { GatewayLogger } from '../../logging/access-log.js';
import type { RateLimitStats } from '../../metrics/rate-limit-stats.js';
import { MemoryRateLimitStore } from '../../rate-limit/memory-store.js';
import type { RateLimitStore, TakeResult, TokenBucket } from '../../rate-limit/store.js';
import type { GatewayContext } from '../context.js';
import { defineFilter, type Filter } from '../filter.js';

/** What the filter does when its store fails or is late: let the request pass, or answer 503. */
export type StoreFallback = 'failOpen' | 'failClosed';

/** Options of {@link rateLimitFilter} (the validated `rateLimit` filter config). */
export interface RateLimitOptions {
  /** What a bucket is per: client IP, API key or JWT subject. */
  key: 'ip' | 'apiKey' | 'jwtSubject';
  /** Bucket size: the burst allowed. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Header carrying the API key (for `key: 'apiKey'`). */
  apiKeyHeader: string;
  /** Buckets kept at most by the in-process store; the least recently used are dropped. */
  maxKeys: number;
  /** Name of a shared store given in `createGateway(…, { rateLimitStores })` (default: an in-process store). */
  store?: string | undefined;
  /** When the store fails or misses `storeTimeoutMs` (default `failOpen`). */
  onStoreError?: StoreFallback | undefined;
  /** Deadline of one store call, in ms (default 50). */
  storeTimeoutMs?: number | undefined;
  /**
   * After a failed store call, the fallback applies at once for this long (ms,
   * default 1000) before the store is asked again: a hung or dead store costs
   * one deadline per interval, not one per request.
   */
  storeRetryMs?: number | undefined;
}

/** What a rate-limit filter is built with besides its options. @internal */
export interface RateLimitDeps {
  /** The shared store, when the config names one (default: an in-process store of the filter's own). */
  store?: RateLimitStore | undefined;
  /** Where the filter's buckets live in a shared store: the route (or `global`) and the filter's index. */
  scope?: string | undefined;
  /** Counters of store errors and fallbacks. */
  stats?: RateLimitStats | undefined;
  /** Told (at warn) when the store starts failing and (at info) when it recovers. */
  logger?: GatewayLogger | undefined;
  /** Clock of the in-process store (tests). */
  now?: (() => number) | undefined;
}

const isPromise = (value: unknown): value is Promise<TakeResult> =>
  typeof (value as Promise<TakeResult> | undefined)?.then === 'function';

/** A store call that missed its deadline. */
class StoreTimeoutError extends GatewayError {
  constructor(kind: string, ms: number) {
    super(
      'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
      `the ${kind} rate-limit store did not answer within storeTimeoutMs (${ms} ms)`,
    );
    this.name = 'StoreTimeoutError';
  }
}

/** Rejects with a {@link StoreTimeoutError} after `ms`, unless `promise` settles first. */
function withDeadline(promise: Promise<TakeResult>, ms: number, kind: string): Promise<TakeResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(kind, ms)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * A token bucket per key. A request takes one token; an empty bucket answers
 * 429 with `Retry-After`. Buckets live in the in-process store (per gateway)
 * or in a shared store (one limit for a fleet). A shared store's call has a
 * deadline (`storeTimeoutMs`); when it fails or is late the filter applies
 * `onStoreError`: `failOpen` lets the request pass, `failClosed` answers 503
 * `BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED`. After a failure the store is
 * left alone for `storeRetryMs` (the fallback applies at once), then tried again.
 * Failed calls count in `backlot_gateway_rate_limit_store_errors_total`,
 * requests decided by the fallback in `backlot_gateway_rate_limit_fallbacks_total`.
 */
export function rateLimitFilter(options: RateLimitOptions, deps: RateLimitDeps = {}): Filter {
  const store = deps.store ?? new MemoryRateLimitStore({ maxKeys: options.maxKeys, now: deps.now });
  const shared = deps.store !== undefined;
  const storeName = options.store ?? 'memory';
  const fallback = options.onStoreError ?? 'failOpen';
  const timeoutMs = options.storeTimeoutMs ?? 50;
  const retryMs = options.storeRetryMs ?? 1000;
  const prefix = shared ? `${deps.scope ?? 'global'}:${options.key}:` : '';
  const bucket: TokenBucket = { capacity: options.capacity, refillPerSecond: options.refillPerSecond };
  const header = options.apiKeyHeader.toLowerCase();
  const { stats, logger } = deps;
  let failing = false;
  /** After a failed call the store is left alone until then (performance.now ms), the fallback applying at once. */
  let skipUntil = 0;
  let lastError: unknown;

  const keyOf = (ctx: GatewayContext): string | undefined => {
    if (options.key === 'ip') return ctx.clientIp;
    if (options.key === 'jwtSubject') return ctx.auth?.subject;
    const value = ctx.req.headers[header];
    return typeof value === 'string' ? createHash('sha256').update(value).digest('base64') : undefined;
  };

  const decide = (result: TakeResult): void => {
    if (failing) {
      failing = false;
      logger?.info({ store: storeName, kind: store.kind }, 'rate-limit store answers again');
    }
    if (result.allowed) return;
    const wait = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    throw new GatewayError('BACKLOT_GATEWAY_RATE_LIMITED', `rate limit of ${options.capacity} exceeded`, {
      headers: { 'retry-after': String(wait) },
    });
  };

  const applyFallback = (ctx: GatewayContext, error: unknown): void => {
    stats?.fallback(ctx.route?.id ?? '', storeName, fallback);
    if (fallback === 'failOpen') return;
    throw new GatewayError(
      'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
      `rate-limit store '${storeName}' failed (${(error as Error).message}); onStoreError is failClosed`,
      { cause: error, headers: { 'retry-after': '1' } },
    );
  };

  const onStoreError = (ctx: GatewayContext, error: unknown): void => {
    const route = ctx.route?.id ?? '';
    stats?.storeError(storeName, error instanceof StoreTimeoutError ? 'timeout' : 'error');
    skipUntil = performance.now() + retryMs;
    lastError = error;
    if (!failing) {
      failing = true;
      logger?.warn(
        { err: error, store: storeName, kind: store.kind, route, onStoreError: fallback },
        `rate-limit store failed; applying ${fallback} until it answers again`,
      );
    }
    applyFallback(ctx, error);
  };

  return defineFilter({
    name: 'rateLimit',
    phase: 'inbound',
    order: -700,
    run(ctx) {
      // A store that just failed is not asked again for storeRetryMs: no request waits on a hung store's deadline.
      if (skipUntil !== 0 && performance.now() < skipUntil) return applyFallback(ctx, lastError);
      const key = prefix + (keyOf(ctx) ?? `anonymous:${ctx.clientIp}`);
      let result: TakeResult | Promise<TakeResult>;
      try {
        result = store.take(key, bucket);
      } catch (error) {
        if (!shared) throw error;
        return onStoreError(ctx, error);
      }
      if (!isPromise(result)) return decide(result);
      return withDeadline(result, timeoutMs, store.kind).then(decide, (error: unknown) => onStoreError(ctx, error));
    },
  });
}
