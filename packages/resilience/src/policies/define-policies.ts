import { z } from 'zod';
import type { CircuitJsonInput } from '../breaker/circuit-json.js';
import { circuitJsonSchema } from '../breaker/circuit-json.js';
import { type CommandControls, createRuntime, registerControls } from '../command/command-controls.js';
import type { CommandRuntime } from '../command/command-runtime.js';
import { type CommandOptions, commandOptionsSchema } from '../command/options.js';
import { type CircuitOpenError, isRejectedError, isTimeoutError, type RejectedError } from '../errors.js';
import type { Permit } from '../registry/group-isolation.js';
import { CommandRegistry, defaultRegistry } from '../registry/registry.js';
import { TimeoutList } from '../timeout/timeout-list.js';
import { TimedCall, type TimedExecution, type TimeoutListener } from './timed-execution.js';

/**
 * A command's circuit breaker on its own: admission before a call, and the
 * call's outcome after it, for the circuit's health.
 */
export interface BreakerPolicy {
  /**
   * Lets one call through (`undefined`), or refuses it: the
   * `CircuitOpenError`, counted as short-circuited. Half-open, exactly one
   * trial is let through. Every admitted call must be {@link record}ed.
   */
  admit(): CircuitOpenError | undefined;
  /**
   * How an admitted call ended: no error is a success; a `TimeoutError` a
   * timeout and a `RejectedError` a rejection (both failures for the circuit,
   * as in Hystrix); an error the command's `isBadRequest` accepts is neutral;
   * any other error a failure.
   */
  record(error?: unknown): void;
}

/** A command's group isolation on its own: its bulkhead or adaptive concurrency limit. */
export interface IsolationPolicy {
  /**
   * A slot now, or, when there is none, the `RejectedError` (counted, with
   * its `reject` event). Never waits: a bulkhead's queue is not used.
   */
  acquire(): Permit | RejectedError;
  /**
   * Gives `permit` back, saying how the call ended: no error is a success
   * (its latency a sample for an adaptive limit), a `TimeoutError` a drop (a
   * sign of overload), anything else says nothing about load.
   */
  release(permit: Permit, error?: unknown): void;
}

/** A command's timeout on its own: the timed execution, which records each execution's outcome and latency. */
export interface TimeoutPolicy {
  /** The budget of one execution in ms, or `false` for none. */
  readonly timeoutMs: number | false;
  /**
   * Starts an execution now: it counts in the command's concurrency and, with
   * a budget, gets a deadline (one timer for all of the command's
   * executions). If the deadline passes first, the timeout is counted and
   * `listener.onTimeout` receives its `TimeoutError`: abort the work there.
   */
  start(listener: TimeoutListener): TimedExecution;
}

/**
 * A command's policies as separate parts — circuit breaker, group
 * isolation, timeout — for callers that compose them themselves (an undici
 * interceptor each, in an order that is data). They share one set of
 * Hystrix metrics under the command's key, so the Hystrix stream, Prometheus
 * and `metrics()` show them as one command: short-circuits, rejections,
 * timeouts, successes and failures, each counted once, by the part that
 * decides it. A call a part refuses or that fails is over (no fallback: the
 * caller answers it).
 */
export interface CommandPolicies extends CommandControls {
  /** The circuit breaker. */
  readonly breaker: BreakerPolicy;
  /** The group's bulkhead or adaptive concurrency limit. */
  readonly isolation: IsolationPolicy;
  /** The timeout, and the execution metrics. */
  readonly timeout: TimeoutPolicy;
}

/** What {@link defineCommandPolicies} accepts: a command's options without its work, fallback, retries, hedging or cache. */
export type CommandPoliciesOptions = Pick<
  CommandOptions<unknown[], unknown>,
  | 'key'
  | 'group'
  | 'timeoutMs'
  | 'circuitBreaker'
  | 'bulkhead'
  | 'concurrencyLimit'
  | 'isBadRequest'
  | 'metricsWindow'
  | 'logger'
> & {
  /** Registry for metrics and group bulkheads (default: the `defaultRegistry`). */
  registry?: CommandRegistry | undefined;
  /** Take the place of a command with this key in the registry instead of throwing (hot reload). */
  replace?: boolean | undefined;
  /** A circuit state saved with `toJSON()`: the circuit starts in it. */
  state?: CircuitJsonInput | undefined;
};

const schema = commandOptionsSchema
  .pick({
    key: true,
    group: true,
    timeoutMs: true,
    circuitBreaker: true,
    bulkhead: true,
    concurrencyLimit: true,
    isBadRequest: true,
    metricsWindow: true,
    logger: true,
  })
  .extend({
    registry: z.instanceof(CommandRegistry, { error: 'registry must be a CommandRegistry' }).optional(),
    replace: z.boolean({ error: 'replace must be a boolean' }).optional(),
    state: circuitJsonSchema.optional(),
  })
  .strict();

const NO_WORK = (): never => {
  throw new TypeError('command policies have no run: compose their parts instead');
};

const now = performance.now.bind(performance);

function breakerPolicy(runtime: CommandRuntime<never[], unknown>): BreakerPolicy {
  const breaker = runtime.breaker;
  const isBadRequest = runtime.settings.isBadRequest;
  return {
    admit() {
      const refused = runtime.shortCircuit();
      if (refused) runtime.unrecovered(now());
      return refused;
    },
    record(error?: unknown) {
      if (error === undefined) breaker.onSuccess();
      else if (isTimeoutError(error)) breaker.onError('timeout');
      else if (isRejectedError(error)) breaker.onError('rejected');
      else if (isBadRequest(error)) breaker.onNeutral();
      else breaker.onError('failure');
    },
  };
}

function isolationPolicy(runtime: CommandRuntime<never[], unknown>): IsolationPolicy {
  return {
    acquire() {
      const at = now();
      const permit = runtime.tryAcquire(at);
      if (permit) return permit;
      const error = runtime.rejection('its concurrency limit is reached');
      runtime.unrecovered(at);
      return error;
    },
    release(permit: Permit, error?: unknown) {
      if (error === undefined) permit.onSuccess();
      else if (isTimeoutError(error)) permit.onDropped();
      else permit.onIgnore();
    },
  };
}

/**
 * Defines a command's policies as separate parts ({@link CommandPolicies}):
 * a circuit breaker, a group isolation and a timeout with Hystrix's defaults
 * (as {@link defineCommand}), registered under `key` for the metrics
 * exporters. Compose them around your own call, in the order you choose
 * (Hystrix's: breaker, then isolation, then timeout).
 *
 * @throws {TypeError} at definition time, naming the bad option.
 *
 * @example
 * ```ts
 * import { CommandRegistry, defineCommandPolicies, isRejectedError } from '@backlot/resilience';
 *
 * const policies = defineCommandPolicies({ key: 'catalog', timeoutMs: 300, registry: new CommandRegistry() });
 *
 * // `work` under the three parts, in Hystrix's order: breaker, isolation, timeout.
 * async function guarded(work: (signal: AbortSignal) => Promise<string>): Promise<string> {
 *   const refused = policies.breaker.admit();
 *   if (refused) throw refused;
 *   const permit = policies.isolation.acquire();
 *   if (isRejectedError(permit)) {
 *     policies.breaker.record(permit);
 *     throw permit;
 *   }
 *   const controller = new AbortController();
 *   const execution = policies.timeout.start({ onTimeout: (timeout) => controller.abort(timeout) });
 *   let outcome: unknown;
 *   try {
 *     const value = await work(controller.signal);
 *     if (!execution.succeeded()) throw controller.signal.reason; // the deadline came first
 *     return value;
 *   } catch (error) {
 *     outcome = controller.signal.aborted ? controller.signal.reason : error;
 *     execution.failed(outcome);
 *     throw outcome;
 *   } finally {
 *     policies.isolation.release(permit, outcome);
 *     policies.breaker.record(outcome);
 *   }
 * }
 *
 * console.log(await guarded(async () => 'catalog answered'), policies.metrics().counts.success); // catalog answered 1
 * policies.dispose();
 * ```
 */
export function defineCommandPolicies(options: CommandPoliciesOptions): CommandPolicies {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const key = typeof options?.key === 'string' ? ` '${options.key}'` : '';
    throw new TypeError(`defineCommandPolicies${key}: ${z.prettifyError(parsed.error)}`);
  }
  const o = parsed.data;
  const registry = o.registry ?? defaultRegistry;
  const runtime = createRuntime<never[], unknown>(o, options, registry, {
    run: NO_WORK,
    fallback: undefined,
    slowCallThresholdMs: undefined,
    retry: undefined,
    hedge: undefined,
    cacheKey: undefined,
    requestCacheEnabled: false,
  });
  const timeoutMs = runtime.settings.timeoutMs;
  const list = timeoutMs === false ? undefined : new TimeoutList(timeoutMs, now);
  const policies = {
    breaker: breakerPolicy(runtime),
    isolation: isolationPolicy(runtime),
    timeout: {
      timeoutMs,
      start: (listener: TimeoutListener): TimedExecution => new TimedCall(runtime, list, now(), listener),
    },
  } as CommandPolicies;
  registerControls(policies, runtime, registry, o.replace ?? false, () => list?.clear());
  return policies;
}
