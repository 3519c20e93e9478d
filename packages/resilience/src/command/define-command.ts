import { activeTracer, insideUnsampledTrace } from '@backlot/metrics-core/tracing';
import { z } from 'zod';
import type { CircuitBreakerOptions, CircuitState } from '../breaker/circuit-breaker.js';
import { type CircuitJson, type CircuitJsonInput, circuitJsonSchema } from '../breaker/circuit-json.js';
import {
  type CommandEventMap,
  type CommandEventName,
  callTracing,
  type EventSubscription,
} from '../events/command-events.js';
import { AdaptiveLimiter } from '../limit/limiter.js';
import type { CommandMetricsSnapshot } from '../metrics/snapshot.js';
import { CommandRegistry, defaultRegistry } from '../registry/registry.js';
import { RetryBudget } from '../retry/retry-budget.js';
import { RESILIENCE_TRACER_NAME, traceCall } from '../tracing/command-span.js';
import { CommandRuntime, defaultIsBadRequest, defaultRetryOn, type RuntimeSettings } from './command-runtime.js';
import { type CommandOptions, circuitBreakerSchema, commandOptionsSchema } from './options.js';

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
  /**
   * Listens to one of the command's events (opossum's names: `success`,
   * `failure`, `timeout`, `reject`, `shortCircuit`, `fallback`, `open`,
   * `close`, `halfOpen`). Returns a subscription: `dispose()` it to stop.
   * An event nobody listens to (and no diagnostics channel subscriber) is never built.
   */
  on<E extends CommandEventName>(event: E, listener: (event: CommandEventMap<Result>[E]) => void): EventSubscription;
  /** Opens the circuit now; after `sleepWindowMs` it goes half-open as usual (opossum's `open()`). */
  open(): void;
  /** Closes the circuit now and resets its health counts (opossum's `close()`). */
  close(): void;
  /**
   * Changes circuit-breaker settings at run time (Hystrix's dynamic
   * properties): `{ forceOpen: true }` pins it open, `{ forceClosed: true }`
   * closed, `{ enabled: false }` disables it; `false` releases a pin. Only the
   * given fields change; a closed circuit whose window meets the new rule opens at once.
   * @throws {TypeError} naming the bad field.
   */
  configureCircuit(changes: CircuitBreakerOptions): void;
  /** The circuit's state and health counts, to save and pass back as the `state` option (opossum's `toJSON()`). */
  toJSON(): CircuitJson;
  /** Stops the command's timers and removes it from its registry. */
  dispose(): void;
}

/** {@link CommandOptions} plus the registry the command joins. */
export interface DefineCommandOptions<Args extends unknown[], Result> extends CommandOptions<Args, Result> {
  /** Registry for metrics and group bulkheads (default: {@link defaultRegistry}). */
  registry?: CommandRegistry | undefined;
  /**
   * Take the place of a command already defined with this key in the
   * registry, instead of throwing (tests, hot reload). The replaced command
   * keeps working for whoever still holds it, and its calls in flight finish
   * normally, but it leaves the registry and its metrics exporters.
   */
  replace?: boolean | undefined;
  /**
   * A circuit state saved with `command.toJSON()` (or opossum's `toJSON()`):
   * the circuit starts in that state, with those health counts. An open
   * circuit whose sleep window has passed since it opened starts half-open;
   * one still inside it sleeps a full `sleepWindowMs` from now (opossum's rule).
   */
  state?: CircuitJsonInput | undefined;
}

const schema = commandOptionsSchema.extend({
  registry: z.instanceof(CommandRegistry, { error: 'registry must be a CommandRegistry' }).optional(),
  replace: z.boolean({ error: 'replace must be a boolean' }).optional(),
  state: circuitJsonSchema.optional(),
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
  const runtime = new CommandRuntime<Args, Result>(settings, isolation, o.state);
  const key = o.key;

  const circuit = () => runtime.breaker.state;
  // Without an OpenTelemetry SDK, a call costs one check and no closure.
  const call = (signal: AbortSignal | undefined, args: Args) => {
    const tracer = activeTracer(RESILIENCE_TRACER_NAME);
    if (!tracer || insideUnsampledTrace()) return runtime.execute(signal, args);
    return traceCall(tracer, key, group, circuit, (trace) => runtime.execute(signal, args, trace));
  };
  const traced = (signal: AbortSignal | undefined, args: Args) =>
    callTracing.tracePromise(() => call(signal, args), { command: key, args });
  const command = ((...args: Args) =>
    callTracing.hasSubscribers ? traced(undefined, args) : call(undefined, args)) as Command<Args, Result>;
  const execute = (options: CallOptions, ...args: Args) =>
    callTracing.hasSubscribers ? traced(options?.signal, args) : call(options?.signal, args);
  const configureCircuit = (changes: CircuitBreakerOptions) => {
    const checked = circuitBreakerSchema.safeParse(changes);
    if (!checked.success) {
      throw new TypeError(`command '${key}' configureCircuit: ${z.prettifyError(checked.error)}`);
    }
    runtime.breaker.configure(checked.data);
  };
  const entry = { key, group, duration: runtime.duration, metrics: () => runtime.metrics(), dispose: () => {} };
  const dispose = () => {
    runtime.dispose();
    registry.unregister(key, entry);
  };
  entry.dispose = dispose;
  Object.defineProperties(command, {
    key: { value: key, enumerable: true },
    group: { value: group, enumerable: true },
    circuitState: { get: () => runtime.breaker.state, enumerable: true },
    execute: { value: execute },
    metrics: { value: entry.metrics },
    on: { value: runtime.events.on.bind(runtime.events) },
    open: { value: () => runtime.breaker.open() },
    close: { value: () => runtime.breaker.close() },
    configureCircuit: { value: configureCircuit },
    toJSON: { value: () => runtime.breaker.toJSON() },
    dispose: { value: dispose },
  });
  registry.register(entry, o.replace ?? false);
  return command;
}
