import { z } from 'zod';
import type { CircuitBreakerOptions } from '../breaker/circuit-breaker.js';
import type { BulkheadOptions } from '../bulkhead/bulkhead.js';
import type { ConcurrencyLimit } from '../limit/types.js';
import type { RetryBudgetOptions } from '../retry/retry-budget.js';
import { retryBudgetSchema } from '../retry/retry-budget.js';
import type { Execution } from './execution.js';

/**
 * `Args`, but not a place to infer it from: a command's argument types come
 * from `run`, so a `fallback` that ignores the arguments (`() => 0`) does not
 * turn them into `[]`.
 */
export type SameArgs<Args> = Args extends infer Same ? Same : never;

/** Why a command went to its fallback. */
export type FailureReason = 'failure' | 'timeout' | 'short-circuited' | 'rejected';

/** What a fallback receives: why the command failed, and the error. */
export interface CommandFailure {
  /** `failure` (run threw), `timeout`, `short-circuited` (circuit open) or `rejected` (bulkhead full). */
  reason: FailureReason;
  /** The error: run's own, or a `TimeoutError`, `CircuitOpenError`, `RejectedError`. */
  error: unknown;
  /** The command's key. */
  command: string;
}

/** Retry settings of a command. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number | undefined;
  /** Backoff base: the delay before retry n is uniform in [0, min(maxDelayMs, baseDelayMs·2^(n-1))] (default 50 ms). */
  baseDelayMs?: number | undefined;
  /** Backoff ceiling (default 2000 ms). */
  maxDelayMs?: number | undefined;
  /**
   * Which errors are worth retrying. Default: errors with `retryable: true`
   * (see `markRetryable`). Never called for bad requests, short-circuits or rejections.
   */
  retryOn?: ((error: unknown, reason: 'failure' | 'timeout') => boolean) | undefined;
  /** Retry budget shared by all calls of the command; `false` to disable (default ratio 0.2, 10/s floor). */
  budget?: RetryBudgetOptions | false | undefined;
}

/** Hedging settings: a second attempt when the first is slower than usual. */
export interface HedgeOptions {
  /** Fire the hedge once the first attempt has run longer than this percentile of recent latency (default 95). */
  percentile?: number | undefined;
  /** Never hedge earlier than this (default 1 ms), nor before `minSamples` latencies are known. */
  minDelayMs?: number | undefined;
  /** Latency samples needed in the window before hedging starts (default 20). */
  minSamples?: number | undefined;
}

/** A pino-compatible logger: state changes go to `info`, failures to `warn`; successes are never logged. */
export interface CommandLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
}

/** Everything `defineCommand` accepts. */
export interface CommandOptions<Args extends unknown[], Result> {
  /** Unique name of the command (Hystrix's command key), e.g. `catalog.getTitle`. */
  key: string;
  /** The dependency it calls (Hystrix's group key); commands of one group share a bulkhead. Default: `key`. */
  group?: string | undefined;
  /** The work: receives its {@link Execution} (with the `signal` to pass on) and the call's arguments. */
  run: (execution: Execution, ...args: Args) => PromiseLike<Result> | Result;
  /** What to answer when the work cannot: receives why, and the call's arguments. */
  fallback?: ((failure: CommandFailure, ...args: SameArgs<Args>) => PromiseLike<Result> | Result) | undefined;
  /** Time budget per attempt in ms, or `false` for none (default 1000, Hystrix's). */
  timeoutMs?: number | false | undefined;
  /** Calls slower than this count as failures for the circuit breaker (resilience4j's slow-call threshold); still answered. */
  slowCallThresholdMs?: number | undefined;
  /** Circuit-breaker settings (Hystrix's defaults). */
  circuitBreaker?: CircuitBreakerOptions | undefined;
  /** Bulkhead of the command's group (default 10 concurrent, no queue). */
  bulkhead?: BulkheadOptions | undefined;
  /**
   * An adaptive concurrency limit for the command's group instead of a fixed
   * bulkhead (`vegasLimit()`, `gradient2Limit()`, `aimdLimit()`): calls over
   * the current limit are rejected at once.
   */
  concurrencyLimit?: ConcurrencyLimit | undefined;
  /** Retries with exponential backoff, full jitter and a budget (default: no retries). */
  retry?: RetryOptions | undefined;
  /** Hedged requests (default: off). */
  hedge?: HedgeOptions | undefined;
  /** Errors that are the caller's fault: passed through, never trip the circuit, no fallback. Default: `BadRequestError`. */
  isBadRequest?: ((error: unknown) => boolean) | undefined;
  /** Key for the request cache: identical calls within one request context share one execution. */
  cacheKey?: ((...args: Args) => string) | undefined;
  /** Rolling metrics window (default 10 000 ms in 10 buckets, Hystrix's). */
  metricsWindow?: { windowMs?: number | undefined; buckets?: number | undefined } | undefined;
  /** Where state changes and failures are logged (e.g. a pino logger). */
  logger?: CommandLogger | undefined;
}

const positiveInt = (name: string, max: number) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be between 1 and ${max}`)
    .max(max, `${name} must be between 1 and ${max}`);

const fn = (name: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', `${name} must be a function`);

/** Circuit-breaker settings, at definition and at run time (`configureCircuit`). @internal */
export const circuitBreakerSchema = z
  .object({
    enabled: z.boolean().optional(),
    requestVolumeThreshold: positiveInt('circuitBreaker.requestVolumeThreshold', 1_000_000).optional(),
    errorThresholdPercentage: z
      .number()
      .min(1, 'circuitBreaker.errorThresholdPercentage must be between 1 and 100')
      .max(100, 'circuitBreaker.errorThresholdPercentage must be between 1 and 100')
      .optional(),
    sleepWindowMs: positiveInt('circuitBreaker.sleepWindowMs', 3_600_000).optional(),
    forceOpen: z.boolean().optional(),
    forceClosed: z.boolean().optional(),
  })
  .strict();

/** @internal */
export const commandOptionsSchema = z.object({
  key: z
    .string({ error: 'key is required: a unique command name, e.g. "catalog.getTitle"' })
    .min(1, 'key must not be empty'),
  group: z.string().min(1, 'group must not be empty').optional(),
  run: fn('run'),
  fallback: fn('fallback').optional(),
  timeoutMs: z.union([positiveInt('timeoutMs', 3_600_000), z.literal(false)]).optional(),
  slowCallThresholdMs: positiveInt('slowCallThresholdMs', 3_600_000).optional(),
  circuitBreaker: circuitBreakerSchema.optional(),
  bulkhead: z
    .object({
      maxConcurrent: positiveInt('bulkhead.maxConcurrent', 1_000_000).optional(),
      maxQueue: z.number().int().min(0, 'bulkhead.maxQueue must be 0 or more').max(1_000_000).optional(),
    })
    .strict()
    .optional(),
  retry: z
    .object({
      maxAttempts: positiveInt('retry.maxAttempts', 10).optional(),
      baseDelayMs: z.number().min(0, 'retry.baseDelayMs must be 0 or more').optional(),
      maxDelayMs: z.number().min(0, 'retry.maxDelayMs must be 0 or more').optional(),
      retryOn: fn('retry.retryOn').optional(),
      budget: z.union([retryBudgetSchema, z.literal(false)]).optional(),
    })
    .strict()
    .optional(),
  hedge: z
    .object({
      percentile: z
        .number()
        .min(50, 'hedge.percentile must be between 50 and 99.9')
        .max(99.9, 'hedge.percentile must be between 50 and 99.9')
        .optional(),
      minDelayMs: z.number().min(0, 'hedge.minDelayMs must be 0 or more').optional(),
      minSamples: positiveInt('hedge.minSamples', 1_000_000).optional(),
    })
    .strict()
    .optional(),
  concurrencyLimit: z
    .custom<ConcurrencyLimit>(
      (v) => typeof v === 'object' && v !== null && typeof (v as ConcurrencyLimit).onSample === 'function',
      'concurrencyLimit must be a ConcurrencyLimit, e.g. vegasLimit()',
    )
    .optional(),
  isBadRequest: fn('isBadRequest').optional(),
  cacheKey: fn('cacheKey').optional(),
  metricsWindow: z
    .object({
      windowMs: z.number().int().min(1000, 'metricsWindow.windowMs must be at least 1000').optional(),
      buckets: positiveInt('metricsWindow.buckets', 100).optional(),
    })
    .strict()
    .refine(
      (w) => (w.windowMs ?? 10_000) % (w.buckets ?? 10) === 0,
      'metricsWindow.windowMs must divide into buckets evenly',
    )
    .optional(),
  logger: z
    .custom<CommandLogger>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as CommandLogger).info === 'function' &&
        typeof (v as CommandLogger).warn === 'function',
      'logger must have info() and warn() methods (a pino logger works)',
    )
    .optional(),
});
