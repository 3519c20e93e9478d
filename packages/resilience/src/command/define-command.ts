import { activeTracer, insideUnsampledTrace } from '@backlot/metrics-core/tracing';
import { z } from 'zod';
import { type CircuitJsonInput, circuitJsonSchema } from '../breaker/circuit-json.js';
import { callTracing } from '../events/command-events.js';
import { CommandRegistry, defaultRegistry } from '../registry/registry.js';
import { RetryBudget } from '../retry/retry-budget.js';
import { RESILIENCE_TRACER_NAME, traceCall } from '../tracing/command-span.js';
import { type CommandControls, createRuntime, registerControls } from './command-controls.js';
import { defaultRetryOn } from './command-runtime.js';
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
export interface Command<Args extends unknown[], Result> extends CommandControls<Result> {
  /** Runs the command. */
  (...args: Args): Promise<Result>;
  /** Runs the command with per-call options, e.g. the caller's `AbortSignal`. */
  execute(options: CallOptions, ...args: Args): Promise<Result>;
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
  const runtime = createRuntime<Args, Result>(o, options, registry, {
    run: options.run,
    fallback: options.fallback,
    slowCallThresholdMs: o.slowCallThresholdMs,
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
    cacheKey: options.cacheKey as ((...args: Args) => string) | undefined,
    requestCacheEnabled: options.cacheKey !== undefined,
  });
  const { key, group } = runtime.settings;

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
  Object.defineProperty(command, 'execute', { value: execute });
  registerControls(command, runtime, registry, o.replace ?? false);
  return command;
}
