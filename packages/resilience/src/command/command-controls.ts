import { z } from 'zod';
import type { CircuitBreakerOptions, CircuitState } from '../breaker/circuit-breaker.js';
import type { CircuitJson, CircuitJsonInput } from '../breaker/circuit-json.js';
import type { CommandEventMap, CommandEventName, EventSubscription } from '../events/command-events.js';
import { AdaptiveLimiter } from '../limit/limiter.js';
import type { ConcurrencyLimit } from '../limit/types.js';
import type { CommandMetricsSnapshot } from '../metrics/snapshot.js';
import type { CommandRegistry } from '../registry/registry.js';
import { CommandRuntime, defaultIsBadRequest, type RuntimeSettings } from './command-runtime.js';
import { type CommandLogger, circuitBreakerSchema } from './options.js';

/**
 * What every command-like object has beside its calls (a {@link Command},
 * a set of {@link CommandPolicies}): its key and group, its circuit, its
 * metrics and events, and `dispose()`.
 */
export interface CommandControls<Result = unknown> {
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

/** The options a command's runtime is built from, parsed, whatever defines it. @internal */
export interface ParsedRuntimeOptions {
  key: string;
  group?: string | undefined;
  timeoutMs?: number | false | undefined;
  circuitBreaker?: CircuitBreakerOptions | undefined;
  bulkhead?: { maxConcurrent?: number | undefined; maxQueue?: number | undefined } | undefined;
  metricsWindow?: { windowMs?: number | undefined; buckets?: number | undefined } | undefined;
  state?: CircuitJsonInput | undefined;
}

/** What only a command has (its work, fallback, retries…), given to {@link createRuntime}. @internal */
export type CallSettings<Args extends unknown[], Result> = Pick<
  RuntimeSettings<Args, Result>,
  'run' | 'fallback' | 'slowCallThresholdMs' | 'retry' | 'hedge' | 'cacheKey' | 'requestCacheEnabled'
>;

/**
 * The runtime behind a command or a set of policies: defaults applied,
 * the group's isolation (a bulkhead, or an adaptive limiter) taken from the
 * registry. @internal
 * @throws {TypeError} when both `bulkhead` and `concurrencyLimit` are given.
 */
export function createRuntime<Args extends unknown[], Result>(
  o: ParsedRuntimeOptions,
  raw: {
    concurrencyLimit?: ConcurrencyLimit | undefined;
    isBadRequest?: ((error: unknown) => boolean) | undefined;
    logger?: CommandLogger | undefined;
  },
  registry: CommandRegistry,
  call: CallSettings<Args, Result>,
): CommandRuntime<Args, Result> {
  const group = o.group ?? o.key;
  const window = { windowMs: o.metricsWindow?.windowMs ?? 10_000, buckets: o.metricsWindow?.buckets ?? 10 };
  const breaker = o.circuitBreaker ?? {};
  const settings: RuntimeSettings<Args, Result> = {
    ...call,
    key: o.key,
    group,
    timeoutMs: o.timeoutMs ?? 1000,
    breaker: {
      enabled: breaker.enabled ?? true,
      requestVolumeThreshold: breaker.requestVolumeThreshold ?? 20,
      errorThresholdPercentage: breaker.errorThresholdPercentage ?? 50,
      sleepWindowMs: breaker.sleepWindowMs ?? 5000,
      forceOpen: breaker.forceOpen ?? false,
      forceClosed: breaker.forceClosed ?? false,
    },
    isBadRequest: raw.isBadRequest ?? defaultIsBadRequest,
    window,
    logger: raw.logger,
  };
  if (o.bulkhead && raw.concurrencyLimit) {
    throw new TypeError(
      `defineCommand '${o.key}': give either bulkhead (a fixed limit) or concurrencyLimit (an adaptive one), not both`,
    );
  }
  const isolation = registry.groupIsolation(
    group,
    raw.concurrencyLimit
      ? { limiter: new AdaptiveLimiter({ limit: raw.concurrencyLimit }) }
      : o.bulkhead
        ? { bulkhead: o.bulkhead }
        : undefined,
    window,
    performance.now.bind(performance),
  );
  return new CommandRuntime<Args, Result>(settings, isolation, o.state);
}

/**
 * Gives `target` the {@link CommandControls} of `runtime` and registers it
 * in `registry` (`replace`: take the place of one with the same key). @internal
 */
export function registerControls<Args extends unknown[], Result>(
  target: object,
  runtime: CommandRuntime<Args, Result>,
  registry: CommandRegistry,
  replace: boolean,
  onDispose?: () => void,
): void {
  const { key, group } = runtime.settings;
  const configureCircuit = (changes: CircuitBreakerOptions) => {
    const checked = circuitBreakerSchema.safeParse(changes);
    if (!checked.success) {
      throw new TypeError(`command '${key}' configureCircuit: ${z.prettifyError(checked.error)}`);
    }
    runtime.breaker.configure(checked.data);
  };
  const entry = { key, group, duration: runtime.duration, metrics: () => runtime.metrics(), dispose: () => {} };
  const dispose = () => {
    onDispose?.();
    runtime.dispose();
    registry.unregister(key, entry);
  };
  entry.dispose = dispose;
  Object.defineProperties(target, {
    key: { value: key, enumerable: true },
    group: { value: group, enumerable: true },
    circuitState: { get: () => runtime.breaker.state, enumerable: true },
    metrics: { value: entry.metrics },
    on: { value: runtime.events.on.bind(runtime.events) },
    open: { value: () => runtime.breaker.open() },
    close: { value: () => runtime.breaker.close() },
    configureCircuit: { value: configureCircuit },
    toJSON: { value: () => runtime.breaker.toJSON() },
    dispose: { value: dispose },
  });
  registry.register(entry, replace);
}
