import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker, type CircuitState } from '../breaker/circuit-breaker.js';
import {
  AbortedError,
  CircuitOpenError,
  FallbackFailedError,
  isBadRequestError,
  RejectedError,
  TimeoutError,
} from '../errors.js';
import type { CommandEvent } from '../metrics/events.js';
import { RollingCounts } from '../metrics/rolling-counts.js';
import { RollingLatency } from '../metrics/rolling-latency.js';
import type { CommandMetricsSnapshot } from '../metrics/snapshot.js';
import type { GroupIsolation, Permit } from '../registry/group-isolation.js';
import { fullJitterDelay } from '../retry/backoff.js';
import { RetryBudget } from '../retry/retry-budget.js';
import { isRetryable } from '../retry/retryable.js';
import { type Deadline, DeadlineQueue } from '../timeout/deadline-queue.js';
import { ExecutionState } from './execution.js';
import type { CommandFailure, CommandLogger, CommandOptions, FailureReason, SameArgs } from './options.js';

/** How one execution ended. */
type Outcome = 'success' | FailureReason | 'bad-request' | 'aborted';
type Settle = (outcome: Outcome, valueOrError: unknown) => void;

/** Resolved settings of a command. @internal */
export interface RuntimeSettings<Args extends unknown[], Result> {
  key: string;
  group: string;
  run: CommandOptions<Args, Result>['run'];
  fallback: CommandOptions<Args, Result>['fallback'];
  timeoutMs: number | false;
  slowCallThresholdMs: number | undefined;
  breaker: ConstructorParameters<typeof CircuitBreaker>[1];
  retry:
    | {
        maxAttempts: number;
        baseDelayMs: number;
        maxDelayMs: number;
        retryOn: (error: unknown, reason: 'failure' | 'timeout') => boolean;
        budget: RetryBudget | undefined;
      }
    | undefined;
  hedge: { percentile: number; minDelayMs: number; minSamples: number } | undefined;
  isBadRequest: (error: unknown) => boolean;
  requestCacheEnabled: boolean;
  window: { windowMs: number; buckets: number };
  logger: CommandLogger | undefined;
}

const now = performance.now.bind(performance);
const HEDGE_DELAY_REFRESH_MS = 1000;

/**
 * The execution engine behind `defineCommand`: admission (circuit, then the
 * group's bulkhead or adaptive limit), the timed run, retries, hedging,
 * fallback, and the metrics of each step. Callback-style inside, so the
 * common path allocates one promise and a few small objects.
 * @internal
 */
export class CommandRuntime<Args extends unknown[], Result> {
  readonly settings: RuntimeSettings<Args, Result>;
  readonly breaker: CircuitBreaker;
  readonly #isolation: GroupIsolation;
  readonly #counts: RollingCounts;
  readonly #latencyExecute: RollingLatency;
  readonly #latencyTotal: RollingLatency;
  readonly #timeouts: DeadlineQueue | undefined;
  #concurrency = 0;
  #hedgeDelay: number | undefined;
  #hedgeDelayAt = Number.NEGATIVE_INFINITY;

  constructor(settings: RuntimeSettings<Args, Result>, isolation: GroupIsolation) {
    this.settings = settings;
    this.#isolation = isolation;
    const { windowMs, buckets } = settings.window;
    this.#counts = new RollingCounts(windowMs, buckets, now);
    this.#latencyExecute = new RollingLatency(windowMs, Math.min(buckets, 5));
    this.#latencyTotal = new RollingLatency(windowMs, Math.min(buckets, 5));
    this.#timeouts = settings.timeoutMs === false ? undefined : new DeadlineQueue(settings.timeoutMs, now);
    this.breaker = new CircuitBreaker(settings.key, settings.breaker, settings.window, now);
    this.breaker.onStateChange((state) => this.#onCircuitChange(state));
  }

  /** Runs the command once for a caller. */
  execute(callerSignal: AbortSignal | undefined, args: Args): Promise<Result> {
    const started = now();
    if (callerSignal?.aborted) {
      return Promise.reject(new AbortedError({ cause: callerSignal.reason }));
    }
    this.settings.retry?.budget?.recordCall();
    return this.#attempt(1, started, callerSignal, args);
  }

  /** Counts a response served from the request cache. */
  countCacheHit(): void {
    this.#counts.add('responseFromCache');
  }

  #attempt(attempt: number, started: number, callerSignal: AbortSignal | undefined, args: Args): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const finish: Settle = (outcome, valueOrError) => {
        if (outcome === 'success') {
          this.#latencyTotal.record(now() - started, now());
          resolve(valueOrError as Result);
        } else if (outcome === 'bad-request' || outcome === 'aborted') {
          this.#latencyTotal.record(now() - started, now());
          this.#counts.add('exceptionThrown');
          reject(valueOrError);
        } else {
          this.#afterFailure(outcome, valueOrError, attempt, started, callerSignal, args).then(resolve, reject);
        }
      };
      if (this.settings.hedge) this.#hedged(attempt, callerSignal, args, finish);
      else this.#admitAndRun(attempt, false, callerSignal, args, finish);
    });
  }

  /** Circuit, then isolation, then the run. Returns the execution when it started at once. */
  #admitAndRun(
    attempt: number,
    hedge: boolean,
    callerSignal: AbortSignal | undefined,
    args: Args,
    settle: Settle,
  ): ExecutionState | undefined {
    if (!this.breaker.allowRequest()) {
      this.#counts.add('shortCircuited');
      settle('short-circuited', new CircuitOpenError(this.settings.key));
      return undefined;
    }
    const permit = this.#isolation.tryAcquire();
    if (permit) return this.#run(permit, attempt, hedge, callerSignal, args, settle);
    if (!this.#isolation.canQueue || hedge) {
      this.#rejected(settle, 'its bulkhead is full');
      return undefined;
    }
    this.#isolation.acquire(callerSignal).then(
      (queued) => {
        if (queued) this.#run(queued, attempt, hedge, callerSignal, args, settle);
        else this.#rejected(settle, 'its bulkhead and queue are full');
      },
      (cause: unknown) => {
        this.breaker.onNeutral();
        this.#counts.add('cancelled');
        settle('aborted', new AbortedError({ cause }));
      },
    );
    return undefined;
  }

  #rejected(settle: Settle, why: string): void {
    this.#isolation.countRejection();
    this.#counts.add('rejected');
    this.breaker.onError('rejected');
    settle('rejected', new RejectedError(this.settings.key, why));
  }

  #run(
    permit: Permit,
    attempt: number,
    hedge: boolean,
    callerSignal: AbortSignal | undefined,
    args: Args,
    settle: Settle,
  ): ExecutionState {
    const { key } = this.settings;
    const execution = new ExecutionState(key, attempt, hedge);
    const start = now();
    const concurrency = ++this.#concurrency;
    this.#counts.observeConcurrency(concurrency, start);

    // Who decided the outcome first: the work, the deadline, the caller, or a hedge twin.
    let verdict: 'work' | 'timeout' | 'aborted' | 'cancelled' | undefined;
    let deadline: Deadline | undefined;
    let onCallerAbort: (() => void) | undefined;
    const decide = (by: NonNullable<typeof verdict>): boolean => {
      if (verdict) return false;
      verdict = by;
      if (deadline) deadline.expire = undefined;
      if (onCallerAbort) callerSignal?.removeEventListener('abort', onCallerAbort);
      return true;
    };

    execution.cancel = () => {
      if (!decide('cancelled')) return;
      this.#counts.add('cancelled');
      this.breaker.onNeutral();
      execution.abort(new AbortedError());
    };
    if (this.#timeouts) {
      deadline = this.#timeouts.arm(() => {
        if (!decide('timeout')) return;
        const error = new TimeoutError(this.settings.timeoutMs as number, { command: key });
        execution.abort(error);
        const end = now();
        this.#latencyExecute.record(end - start, end);
        this.#counts.add('timeout', end);
        this.settings.logger?.warn({ command: key, group: this.settings.group, reason: 'timeout' }, 'command timed out');
        this.breaker.onError('timeout');
        settle('timeout', error);
      });
    }
    if (callerSignal) {
      onCallerAbort = () => {
        if (!decide('aborted')) return;
        const error = new AbortedError({ cause: callerSignal.reason });
        execution.abort(error);
        this.#counts.add('cancelled');
        this.breaker.onNeutral();
        settle('aborted', error);
      };
      callerSignal.addEventListener('abort', onCallerAbort, { once: true });
    }

    let result: PromiseLike<Result> | Result;
    try {
      result = this.settings.run(execution, ...args);
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      (value) => {
        this.#concurrency--;
        if (!decide('work')) {
          // Settled after a timeout or cancellation: only now is the slot free.
          if (verdict === 'timeout') permit.onDropped();
          else permit.onIgnore();
          return;
        }
        const end = now();
        const ms = end - start;
        this.#latencyExecute.record(ms, end);
        this.#counts.add('success', end);
        const slow = this.settings.slowCallThresholdMs;
        if (slow !== undefined && ms >= slow) this.breaker.onError('failure');
        else this.breaker.onSuccess();
        permit.onSuccess();
        settle('success', value);
      },
      (error: unknown) => {
        this.#concurrency--;
        if (!decide('work')) {
          if (verdict === 'timeout') permit.onDropped();
          else permit.onIgnore();
          return;
        }
        const end = now();
        this.#latencyExecute.record(end - start, end);
        permit.onIgnore();
        if (this.settings.isBadRequest(error)) {
          this.#counts.add('badRequest', end);
          this.breaker.onNeutral();
          settle('bad-request', error);
          return;
        }
        this.#counts.add('failure', end);
        this.settings.logger?.warn({ command: key, group: this.settings.group, reason: 'failure', err: error }, 'command failed');
        this.breaker.onError('failure');
        settle('failure', error);
      },
    );
    return execution;
  }

  /** A primary attempt, and a hedge once it runs longer than the p-th percentile; the first success wins. */
  #hedged(attempt: number, callerSignal: AbortSignal | undefined, args: Args, finish: Settle): void {
    const executions: ExecutionState[] = [];
    let pending = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const onOutcome: Settle = (outcome, valueOrError) => {
      pending--;
      if (done) return;
      if (outcome === 'success' || outcome === 'bad-request' || outcome === 'aborted' || pending === 0) {
        done = true;
        clearTimeout(timer);
        for (const execution of executions) execution.cancel();
        finish(outcome, valueOrError);
      }
      // Otherwise one attempt failed while the other still runs: wait for it.
    };
    pending++;
    const primary = this.#admitAndRun(attempt, false, callerSignal, args, onOutcome);
    if (!primary || done) return;
    executions.push(primary);
    const delay = this.#currentHedgeDelay();
    if (delay === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (done) return;
      this.#counts.add('hedge');
      pending++;
      const twin = this.#admitAndRun(attempt, true, callerSignal, args, (outcome, valueOrError) => {
        // A hedge that could not start (circuit open, no slot) is no verdict on the call.
        if (outcome === 'short-circuited' || outcome === 'rejected') {
          pending--;
          return;
        }
        onOutcome(outcome, valueOrError);
      });
      if (twin) executions.push(twin);
    }, delay);
    timer.unref();
  }

  #currentHedgeDelay(): number | undefined {
    const hedge = this.settings.hedge;
    if (!hedge) return undefined;
    const t = now();
    // Refresh once a second; before the first estimate, as soon as enough calls were seen.
    const due =
      t - this.#hedgeDelayAt >= HEDGE_DELAY_REFRESH_MS ||
      (this.#hedgeDelay === undefined && this.#counts.count('success', t) + this.#counts.count('failure', t) >= hedge.minSamples);
    if (due) {
      this.#hedgeDelayAt = t;
      const latency = this.#latencyExecute.valueAt(hedge.percentile, t);
      this.#hedgeDelay = latency.count < hedge.minSamples ? undefined : Math.max(hedge.minDelayMs, latency.ms);
    }
    return this.#hedgeDelay;
  }

  #afterFailure(
    reason: FailureReason,
    error: unknown,
    attempt: number,
    started: number,
    callerSignal: AbortSignal | undefined,
    args: Args,
  ): Promise<Result> {
    const retry = this.settings.retry;
    if (retry && attempt < retry.maxAttempts && (reason === 'failure' || reason === 'timeout') && retry.retryOn(error, reason)) {
      if (!retry.budget || retry.budget.tryWithdraw()) {
        this.#counts.add('retry');
        const delay = fullJitterDelay(attempt, retry.baseDelayMs, retry.maxDelayMs);
        return sleep(delay, undefined, callerSignal ? { signal: callerSignal } : undefined).then(
          () => this.#attempt(attempt + 1, started, callerSignal, args),
          () => {
            this.#counts.add('cancelled');
            throw new AbortedError({ cause: callerSignal?.reason });
          },
        );
      }
      this.#counts.add('retryBudgetExhausted');
    }
    return this.#fallback(reason, error, started, args);
  }

  #fallback(reason: FailureReason, error: unknown, started: number, args: Args): Promise<Result> {
    const { fallback, key } = this.settings;
    const done = (event: CommandEvent) => {
      const end = now();
      this.#counts.add(event, end);
      this.#latencyTotal.record(end - started, end);
    };
    if (!fallback) {
      done('fallbackMissing');
      this.#counts.add('exceptionThrown');
      return Promise.reject(error);
    }
    let result: PromiseLike<Result> | Result;
    try {
      const failure: CommandFailure = { reason, error, command: key };
      result = fallback(failure, ...(args as SameArgs<Args>));
    } catch (fallbackError) {
      result = Promise.reject(fallbackError);
    }
    return Promise.resolve(result).then(
      (value) => {
        done('fallbackSuccess');
        return value;
      },
      (fallbackError: unknown) => {
        done('fallbackFailure');
        this.#counts.add('exceptionThrown');
        this.settings.logger?.warn(
          { command: key, group: this.settings.group, reason, err: fallbackError },
          'command fallback failed',
        );
        throw new FallbackFailedError(key, error, fallbackError);
      },
    );
  }

  #onCircuitChange(state: CircuitState): void {
    this.settings.logger?.info({ command: this.settings.key, group: this.settings.group, circuit: state }, `circuit ${state}`);
  }

  /** Metrics over the rolling window now. */
  metrics(): CommandMetricsSnapshot {
    const t = now();
    return {
      key: this.settings.key,
      group: this.settings.group,
      windowMs: this.settings.window.windowMs,
      circuit: this.breaker.state,
      health: this.breaker.health(),
      counts: this.#counts.counts(t),
      concurrency: { current: this.#concurrency, rollingMax: this.#counts.maxConcurrency(t) },
      latencyExecute: this.#latencyExecute.snapshot(t),
      latencyTotal: this.#latencyTotal.snapshot(t),
      settings: {
        timeoutMs: this.settings.timeoutMs,
        circuitBreaker: this.settings.breaker,
        requestCacheEnabled: this.settings.requestCacheEnabled,
      },
    };
  }

  /** Stops every timer the command owns. */
  dispose(): void {
    this.#timeouts?.clear();
    this.breaker.shutdown();
  }
}

/** Default retry predicate. @internal */
export const defaultRetryOn = (error: unknown): boolean => isRetryable(error);
/** Default bad-request predicate. @internal */
export const defaultIsBadRequest = (error: unknown): boolean => isBadRequestError(error);
