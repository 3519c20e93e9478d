import { z } from 'zod';
import type { CircuitState } from '../breaker/circuit-breaker.js';
import { AdaptiveLimiter } from '../limit/limiter.js';
import type { CommandMetricsSnapshot } from '../metrics/snapshot.js';
import { CommandRegistry, defaultRegistry } from '../registry/registry.js';
import { RetryBudget } from '../retry/retry-budget.js';
import { CommandRuntime, defaultIsBadRequest, defaultRetryOn, type RuntimeSettings } from './command-runtime.js';
import { type CommandOptions, commandOptionsSchema } from './options.js';

/** Options of one call made through {@link Command.execute}. */
export interface CallOptions {
  /** The caller's signal: when it aborts, the call rejects with `AbortedError` and the execution's signal aborts. */
  signal?: AbortSignal | undefined;
}

/**
 * A command: call it like the function it wraps. Every call is isolated by the
 * circuit breaker, the group's bulkhead, the timeout, and falls back when the
 * work cannot answer.
 */
export interface Command<Args extends unknown[], Result> {
  /** Runs the command. */
  (...args: Args): Promise<Result>;
  /** Runs the command with per-call options, e.g. the caller's `AbortSignal`. */
  execute(options: CallOptions, ...args: Args): Promise<Result>;
  /** The command's key. */
  readonly key: string;
  /** The command's group. */
  readonly group: string;
  /** The circuit's state now. */
  readonly circuitState: CircuitState;
  /** Metrics over the rolling window. */
  metrics(): CommandMetricsSnapshot;
  /** Stops the command's timers and removes it from its registry. */
  dispose(): void;
}

/** {@link CommandOptions} plus the registry the command joins. */
export interface DefineCommandOptions<Args extends unknown[], Result> extends CommandOptions<Args, Result> {
  /** Registry for metrics and group bulkheads (default: {@link defaultRegistry}). */
  registry?: CommandRegistry | undefined;
}

const schema = commandOptionsSchema.extend({
  registry: z.instanceof(CommandRegistry, { error: 'registry must be a CommandRegistry' }).optional(),
});

/**
 * Defines a Hystrix-style command around `run`: a typed async function that
 * times out (1 s by default), trips a circuit breaker on errors (Hystrix's
 * defaults), is limited by its group's bulkhead (10 concurrent), falls back,
 * and optionally retries, hedges and caches per request.
 *
 * @throws {TypeError} at definition time, naming the bad option and its allowed range.
 *
 * @example
 * ```ts
 * import { request } from 'undici';
 *
 * const getTitle = defineCommand({
 *   key: 'catalog.getTitle',
 *   group: 'catalog',
 *   timeoutMs: 300,
 *   run: async ({ signal }, id: string) => {
 *     const { statusCode, body } = await request(`http://127.0.0.1:8081/titles/${id}`, { signal });
 *     if (statusCode !== 200) throw new Error(`catalog answered ${statusCode}`);
 *     return (await body.json()) as { id: string; name: string };
 *   },
 *   fallback: ({ reason }, id) => ({ id, name: `(title unavailable: ${reason})` }),
 * });
 *
 * const title = await getTitle('80100172');
 * ```
 */
export function defineCommand<Args extends unknown[], Result>(
  options: DefineCommandOptions<Args, Result>,
): Command<Args, Result> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const key = typeof options?.key === 'string' ? ` '${options.key}'` : '';
    throw new TypeError(`defineCommand${key}: ${z.prettifyError(parsed.error)}`);
  }
  const o = parsed.data;
  const registry = o.registry ?? defaultRegistry;
  const group = o.group ?? o.key;
  const window = { windowMs: o.metricsWindow?.windowMs ?? 10_000, buckets: o.metricsWindow?.buckets ?? 10 };
  const breaker = o.circuitBreaker ?? {};
  const settings: RuntimeSettings<Args, Result> = {
    key: o.key,
    group,
    run: options.run,
    fallback: options.fallback,
    timeoutMs: o.timeoutMs ?? 1000,
    slowCallThresholdMs: o.slowCallThresholdMs,
    breaker: {
      enabled: breaker.enabled ?? true,
      requestVolumeThreshold: breaker.requestVolumeThreshold ?? 20,
      errorThresholdPercentage: breaker.errorThresholdPercentage ?? 50,
      sleepWindowMs: breaker.sleepWindowMs ?? 5000,
      forceOpen: breaker.forceOpen ?? false,
      forceClosed: breaker.forceClosed ?? false,
    },
    retry: o.retry
      ? {
          maxAttempts: o.retry.maxAttempts ?? 3,
          baseDelayMs: o.retry.baseDelayMs ?? 50,
          maxDelayMs: o.retry.maxDelayMs ?? 2000,
          retryOn: options.retry?.retryOn ?? defaultRetryOn,
          budget: o.retry.budget === false ? undefined : new RetryBudget(o.retry.budget ?? {}),
        }
      : undefined,
    hedge: o.hedge
      ? {
          percentile: o.hedge.percentile ?? 95,
          minDelayMs: o.hedge.minDelayMs ?? 1,
          minSamples: o.hedge.minSamples ?? 20,
        }
      : undefined,
    isBadRequest: options.isBadRequest ?? defaultIsBadRequest,
    cacheKey: options.cacheKey as ((...args: Args) => string) | undefined,
    requestCacheEnabled: options.cacheKey !== undefined,
    window,
    logger: options.logger,
  };
  if (o.bulkhead && options.concurrencyLimit) {
    throw new TypeError(
      `defineCommand '${o.key}': give either bulkhead (a fixed limit) or concurrencyLimit (an adaptive one), not both`,
    );
  }
  const isolation = registry.groupIsolation(
    group,
    options.concurrencyLimit
      ? { limiter: new AdaptiveLimiter({ limit: options.concurrencyLimit }) }
      : o.bulkhead
        ? { bulkhead: o.bulkhead }
        : undefined,
    window,
    performance.now.bind(performance),
  );
  const runtime = new CommandRuntime<Args, Result>(settings, isolation);

  const command = ((...args: Args) => runtime.execute(undefined, args)) as Command<Args, Result>;
  const dispose = () => {
    runtime.dispose();
    registry.unregister(o.key);
  };
  Object.defineProperties(command, {
    key: { value: o.key, enumerable: true },
    group: { value: group, enumerable: true },
    circuitState: { get: () => runtime.breaker.state, enumerable: true },
    execute: { value: (call: CallOptions, ...args: Args) => runtime.execute(call?.signal, args) },
    metrics: { value: () => runtime.metrics() },
    dispose: { value: dispose },
  });
  registry.register({ key: o.key, group, metrics: () => runtime.metrics(), dispose });
  return command;
}
