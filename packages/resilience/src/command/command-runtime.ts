import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from '@backlot/metrics-core';
import { CircuitBreaker, type CircuitState } from '../breaker/circuit-breaker.js';
import type { RestoredCircuit } from '../breaker/circuit-json.js';
import { cachedInRequest } from '../context/request-cache.js';
import { currentRequestContext } from '../context/request-context.js';
import {
  AbortedError,
  CircuitOpenError,
  FallbackFailedError,
  isBadRequestError,
  RejectedError,
  TimeoutError,
} from '../errors.js';
import { CommandEvents } from '../events/command-events.js';
import type { CommandEvent } from '../metrics/events.js';
import { RollingCounts } from '../metrics/rolling-counts.js';
import { RollingLatency } from '../metrics/rolling-latency.js';
import type { CommandMetricsSnapshot } from '../metrics/snapshot.js';
import type { GroupIsolation, Permit } from '../registry/group-isolation.js';
import { fullJitterDelay } from '../retry/backoff.js';
import type { RetryBudget } from '../retry/retry-budget.js';
import { isRetryable } from '../retry/retryable.js';
import { TimeoutList } from '../timeout/timeout-list.js';
import type { CallTrace } from '../tracing/command-span.js';
import { InflightCall } from './execution.js';
import type { CommandFailure, CommandLogger, CommandOptions, FailureReason, SameArgs } from './options.js';

/** How one execution ended. */
type Outcome = 'success' | FailureReason | 'bad-request' | 'aborted';
/** `startedAt`: when the execution began (undefined when it never ran), so callers need no clock of their own. */
type Settle = (outcome: Outcome, valueOrError: unknown, startedAt?: number) => void;

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
  cacheKey: ((...args: Args) => string) | undefined;
  requestCacheEnabled: boolean;
  window: { windowMs: number; buckets: number };
  logger: CommandLogger | undefined;
}

const now = performance.now.bind(performance);
const HEDGE_DELAY_REFRESH_MS = 1000;
/** Abort reason of a queued call whose deadline passed before it got a slot. */
const QUEUE_TIMEOUT = Symbol('backlot.queue-timeout');

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
  /** The command's listeners (`command.on()`), and its diagnostics channels. */
  readonly events = new CommandEvents<Result>();
  /** Latency seen by callers since the command was defined (Prometheus `backlot_command_duration_seconds`). */
  readonly duration = new LatencyHistogram();
  readonly #isolation: GroupIsolation;
  readonly #counts: RollingCounts;
  // Latency in three disjoint parts: a first-attempt success is both an execute
  // and a total sample (recorded once, on the hot path); everything else is
  // recorded where it belongs. Snapshots merge them.
  readonly #latencyBoth: RollingLatency;
  readonly #latencyExecuteOnly: RollingLatency;
  readonly #latencyTotalOnly: RollingLatency;
  readonly #timeouts: TimeoutList | undefined;
  readonly #simpleSuccess: boolean;
  #concurrency = 0;
  #hedgeDelay: number | undefined;
  #hedgeDelayAt = Number.NEGATIVE_INFINITY;

  constructor(settings: RuntimeSettings<Args, Result>, isolation: GroupIsolation, restored?: RestoredCircuit) {
    this.settings = settings;
    this.#isolation = isolation;
    const { windowMs, buckets } = settings.window;
    this.#counts = new RollingCounts(windowMs, buckets, now);
    const latencyBuckets = Math.min(buckets, 5);
    this.#latencyBoth = new RollingLatency(windowMs, latencyBuckets);
    this.#latencyExecuteOnly = new RollingLatency(windowMs, latencyBuckets);
    this.#latencyTotalOnly = new RollingLatency(windowMs, latencyBuckets);
    this.#timeouts = settings.timeoutMs === false ? undefined : new TimeoutList(settings.timeoutMs, now);
    this.#simpleSuccess = settings.hedge === undefined;
    this.breaker = new CircuitBreaker(settings.key, settings.breaker, settings.window, now, restored);
    this.breaker.onStateChange((state) => this.#onCircuitChange(state));
  }

  /**
   * Runs the command once for a caller. Inside a request context
   * (`runInRequestContext`), the request's signal is the default caller
   * signal, and calls with the same `cacheKey` share one execution.
   */
  execute(callerSignal: AbortSignal | undefined, args: Args, trace?: CallTrace): Promise<Result> {
    const context = currentRequestContext();
    const signal = callerSignal ?? context?.signal;
    const cacheKey = this.settings.cacheKey;
    if (context && cacheKey) {
      let hit = true;
      const shared = cachedInRequest(`backlot.command:${this.settings.key}`, cacheKey(...args), () => {
        hit = false;
        return this.#execute(signal, args, trace);
      });
      if (hit) this.#counts.add('responseFromCache');
      return shared;
    }
    return this.#execute(signal, args, trace);
  }

  #execute(callerSignal: AbortSignal | undefined, args: Args, trace: CallTrace | undefined): Promise<Result> {
    if (callerSignal?.aborted) {
      return Promise.reject(new AbortedError({ cause: callerSignal.reason }));
    }
    this.settings.retry?.budget?.recordCall();
    // The call's start is the first execution's (one clock reading saved per call).
    return this.#attempt(1, Number.NaN, callerSignal, args, trace);
  }

  #attempt(
    attempt: number,
    started: number,
    callerSignal: AbortSignal | undefined,
    args: Args,
    trace: CallTrace | undefined,
  ): Promise<Result> {
    if (trace) trace.attempt = attempt;
    return new Promise<Result>((resolve, reject) => {
      const finish: Settle = (outcome, valueOrError, startedAt) => {
        if (outcome === 'success' && attempt === 1 && this.#simpleSuccess) {
          // Recorded as an execute-and-total sample by #onValue.
          resolve(valueOrError as Result);
          return;
        }
        const origin = Number.isNaN(started) ? (startedAt ?? now()) : started;
        if (outcome === 'success') {
          this.#recordTotal(origin);
          resolve(valueOrError as Result);
        } else if (outcome === 'bad-request' || outcome === 'aborted') {
          this.#recordTotal(origin);
          this.#counts.add('exceptionThrown');
          reject(valueOrError);
        } else {
          this.#afterFailure(outcome, valueOrError, attempt, origin, callerSignal, args, trace).then(resolve, reject);
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
  ): InflightCall | undefined {
    const refused = this.shortCircuit();
    if (refused) {
      settle('short-circuited', refused);
      return undefined;
    }
    const at = now();
    const permit = this.#isolation.tryAcquire(at);
    if (permit) return this.#run(permit, at, attempt, hedge, callerSignal, args, settle);
    if (!this.#isolation.canQueue || hedge) {
      this.#rejected(settle, 'its bulkhead is full');
      return undefined;
    }
    this.#queue(at, attempt, callerSignal, args, settle);
    return undefined;
  }

  /**
   * Waits for a slot in the group's queue. The attempt's deadline starts now,
   * before the queue (as in Hystrix): one timer covers the wait and then the
   * run, so a call stuck behind a dependency that never settles still times
   * out and falls back (`TimeoutError` with `queued: true`). The timer is
   * referenced, so a process whose only work is this call stays alive for it.
   */
  #queue(at: number, attempt: number, callerSignal: AbortSignal | undefined, args: Args, settle: Settle): void {
    const { timeoutMs } = this.settings;
    const leave = new AbortController();
    let call: InflightCall | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== false) {
      timer = setTimeout(() => {
        if (call) call.onTimeout();
        else leave.abort(QUEUE_TIMEOUT);
      }, timeoutMs);
    }
    const onCallerAbort = callerSignal && (() => leave.abort(callerSignal.reason));
    if (onCallerAbort) callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const stopWaiting = () => {
      if (onCallerAbort) callerSignal?.removeEventListener('abort', onCallerAbort);
    };
    const gaveUp = (reason: unknown) => {
      clearTimeout(timer);
      if (reason === QUEUE_TIMEOUT) this.#queueTimedOut(settle, at, attempt);
      else {
        this.breaker.onNeutral();
        this.#counts.add('cancelled');
        settle('aborted', new AbortedError({ cause: reason }), at);
      }
    };
    this.#isolation.acquire(leave.signal).then(
      (permit) => {
        stopWaiting();
        if (!permit) {
          clearTimeout(timer);
          this.#rejected(settle, 'its bulkhead and queue are full');
        } else if (leave.signal.aborted) {
          // The deadline or the caller won the race with the slot: give the slot back.
          permit.onIgnore();
          gaveUp(leave.signal.reason);
        } else {
          call = this.#run(permit, now(), attempt, false, callerSignal, args, settle, timer);
        }
      },
      (reason: unknown) => {
        stopWaiting();
        gaveUp(reason);
      },
    );
  }

  #queueTimedOut(settle: Settle, queuedAt: number, attempt: number): void {
    const { key, group, timeoutMs } = this.settings;
    const error = new TimeoutError(timeoutMs as number, { command: key, queued: true });
    this.#counts.add('timeout');
    this.settings.logger?.warn({ command: key, group, reason: 'timeout', queued: true }, 'command timed out in queue');
    if (this.events.wants('timeout')) {
      this.events.emit('timeout', { command: key, error, latencyMs: now() - queuedAt, attempt, queued: true });
    }
    this.breaker.onError('timeout');
    settle('timeout', error, queuedAt);
  }

  #rejected(settle: Settle, why: string): void {
    const error = this.rejection(why);
    this.breaker.onError('rejected');
    settle('rejected', error);
  }

  /**
   * The circuit's admission of one call: `undefined` when it may go on,
   * otherwise the `CircuitOpenError`, counted as short-circuited (with its event).
   */
  shortCircuit(): CircuitOpenError | undefined {
    if (this.breaker.allowRequest()) return undefined;
    this.#counts.add('shortCircuited');
    const error = new CircuitOpenError(this.settings.key);
    if (this.events.wants('shortCircuit')) this.events.emit('shortCircuit', { command: this.settings.key, error });
    return error;
  }

  /** Counts a call its group's isolation turned away (with its event) and returns its error; the breaker is the caller's. */
  rejection(why: string): RejectedError {
    this.#isolation.countRejection();
    this.#counts.add('rejected');
    const error = new RejectedError(this.settings.key, why);
    if (this.events.wants('reject')) this.events.emit('reject', { command: this.settings.key, error });
    return error;
  }

  /** Takes a slot of the group's isolation now, or `undefined` when it is full (nothing counted). */
  tryAcquire(at?: number): Permit | undefined {
    return this.#isolation.tryAcquire(at);
  }

  /** A call that failed (started at `started`) and has no fallback: what `#fallback` records for it. */
  unrecovered(started: number): void {
    this.#counts.add('fallbackMissing');
    this.#recordTotal(started);
    this.#counts.add('exceptionThrown');
  }

  /** An execution outside the runtime's own `run` (a policy's timed execution) started at `at`. */
  executionStarted(at: number): void {
    this.#counts.observeConcurrency(++this.#concurrency, at);
  }

  /** That execution answered: a success, recorded as a first attempt's. */
  executionSucceeded(startedAt: number, value: Result): void {
    this.#concurrency--;
    this.#succeeded(startedAt, value, 1);
  }

  /** That execution failed with `error`: a bad request or a failure; either way the call is over (no fallback). */
  executionFailed(startedAt: number, error: unknown): void {
    this.#concurrency--;
    const end = now();
    this.#latencyExecuteOnly.record(end - startedAt, end);
    if (this.#failed(error, startedAt, end, 1) === 'bad-request') {
      this.#recordTotal(startedAt);
      this.#counts.add('exceptionThrown');
    } else this.unrecovered(startedAt);
  }

  /** That execution ran out of time: recorded as a timeout, and its error returned. */
  executionTimedOut(startedAt: number): TimeoutError {
    this.#concurrency--;
    const error = this.#timedOut(startedAt, 1);
    this.unrecovered(startedAt);
    return error;
  }

  #run(
    permit: Permit,
    start: number,
    attempt: number,
    hedge: boolean,
    callerSignal: AbortSignal | undefined,
    args: Args,
    settle: Settle,
    deadlineTimer?: NodeJS.Timeout,
  ): InflightCall {
    const call = new InflightCall(
      this.settings.key,
      attempt,
      hedge,
      permit,
      start,
      callerSignal,
      settle as InflightCall['settle'],
      this.#onTimeout,
    );
    const concurrency = ++this.#concurrency;
    this.#counts.observeConcurrency(concurrency, start);
    if (deadlineTimer !== undefined) call.timer = deadlineTimer;
    else this.#timeouts?.add(call, start);
    if (callerSignal) {
      call.onCallerAbort = () => this.#onCallerAbort(call);
      callerSignal.addEventListener('abort', call.onCallerAbort, { once: true });
    }

    let result: PromiseLike<Result> | Result;
    try {
      result = this.settings.run(call, ...args);
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      (value) => this.#onValue(call, value),
      (error: unknown) => this.#onError(call, error),
    );
    return call;
  }

  /** Records who decided the call's outcome; `false` if someone already had. */
  #decide(call: InflightCall, verdict: NonNullable<InflightCall['verdict']>): boolean {
    if (call.verdict) return false;
    call.verdict = verdict;
    if (call.linked) this.#timeouts?.remove(call);
    else if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.onCallerAbort) call.callerSignal?.removeEventListener('abort', call.onCallerAbort);
    return true;
  }

  /** The work ended after its outcome was decided: only now is its slot free. */
  #releaseLate(call: InflightCall): void {
    if (call.verdict === 'timeout') call.permit.onDropped();
    else call.permit.onIgnore();
  }

  #onValue(call: InflightCall, value: Result): void {
    this.#concurrency--;
    if (!this.#decide(call, 'work')) {
      this.#releaseLate(call);
      return;
    }
    const end = this.#succeeded(call.startedAt, value, call.attempt);
    const slow = this.settings.slowCallThresholdMs;
    if (slow !== undefined && end - call.startedAt >= slow) this.breaker.onError('failure', end);
    else this.breaker.onSuccess(end);
    call.permit.onSuccess();
    call.settle('success', value, call.startedAt);
  }

  /** Records a success's latency, count and event; returns the clock reading it ended at. */
  #succeeded(startedAt: number, value: Result, attempt: number): number {
    const end = now();
    const ms = end - startedAt;
    if (attempt === 1 && this.#simpleSuccess) {
      this.#latencyBoth.record(ms, end);
      this.duration.recordMs(ms);
    } else this.#latencyExecuteOnly.record(ms, end);
    this.#counts.add('success', end);
    const events = this.events;
    if (events.wants('success')) {
      events.emit('success', { command: this.settings.key, result: value, latencyMs: ms, attempt });
    }
    return end;
  }

  #onError(call: InflightCall, error: unknown): void {
    this.#concurrency--;
    if (!this.#decide(call, 'work')) {
      this.#releaseLate(call);
      return;
    }
    const end = now();
    this.#latencyExecuteOnly.record(end - call.startedAt, end);
    call.permit.onIgnore();
    const outcome = this.#failed(error, call.startedAt, end, call.attempt);
    if (outcome === 'bad-request') this.breaker.onNeutral();
    else this.breaker.onError('failure', end);
    call.settle(outcome, error, call.startedAt);
  }

  /** Counts a failed execution as a bad request or a failure (logged, with its event); the breaker is the caller's. */
  #failed(error: unknown, startedAt: number, end: number, attempt: number): 'bad-request' | 'failure' {
    if (this.settings.isBadRequest(error)) {
      this.#counts.add('badRequest', end);
      return 'bad-request';
    }
    this.#counts.add('failure', end);
    const { key, group } = this.settings;
    this.settings.logger?.warn({ command: key, group, reason: 'failure', err: error }, 'command failed');
    if (this.events.wants('failure')) {
      this.events.emit('failure', { command: key, error, latencyMs: end - startedAt, attempt });
    }
    return 'failure';
  }

  readonly #onTimeout = (call: InflightCall): void => {
    if (!this.#decide(call, 'timeout')) return;
    const error = this.#timedOut(call.startedAt, call.attempt, call);
    this.breaker.onError('timeout');
    call.settle('timeout', error, call.startedAt);
  };

  /** Counts a timed-out execution (logged, with its event; `call`'s signal aborted first); the breaker is the caller's. */
  #timedOut(startedAt: number, attempt: number, call?: InflightCall): TimeoutError {
    const { key, group, timeoutMs } = this.settings;
    const error = new TimeoutError(timeoutMs as number, { command: key });
    call?.abort(error);
    const end = now();
    this.#latencyExecuteOnly.record(end - startedAt, end);
    this.#counts.add('timeout', end);
    this.settings.logger?.warn({ command: key, group, reason: 'timeout' }, 'command timed out');
    if (this.events.wants('timeout')) {
      this.events.emit('timeout', { command: key, error, latencyMs: end - startedAt, attempt, queued: false });
    }
    return error;
  }

  #onCallerAbort(call: InflightCall): void {
    if (!this.#decide(call, 'aborted')) return;
    const error = new AbortedError({ cause: call.callerSignal?.reason });
    call.abort(error);
    this.#counts.add('cancelled');
    this.breaker.onNeutral();
    call.settle('aborted', error, call.startedAt);
  }

  /** Gives up on a call whose result is no longer wanted (a hedge twin won). */
  #cancel(call: InflightCall): void {
    if (!this.#decide(call, 'cancelled')) return;
    this.#counts.add('cancelled');
    this.breaker.onNeutral();
    call.abort(new AbortedError());
  }

  #recordTotal(started: number): void {
    const end = now();
    this.#latencyTotalOnly.record(end - started, end);
    this.duration.recordMs(end - started);
  }

  /** A primary attempt, and a hedge once it runs longer than the p-th percentile; the first success wins. */
  #hedged(attempt: number, callerSignal: AbortSignal | undefined, args: Args, finish: Settle): void {
    const executions: InflightCall[] = [];
    let pending = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const onOutcome: Settle = (outcome, valueOrError) => {
      pending--;
      if (done) return;
      if (outcome === 'success' || outcome === 'bad-request' || outcome === 'aborted' || pending === 0) {
        done = true;
        clearTimeout(timer);
        for (const execution of executions) this.#cancel(execution);
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
      (this.#hedgeDelay === undefined &&
        this.#counts.count('success', t) + this.#counts.count('failure', t) >= hedge.minSamples);
    if (due) {
      this.#hedgeDelayAt = t;
      const latency = RollingLatency.valueAt([this.#latencyBoth, this.#latencyExecuteOnly], hedge.percentile, t);
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
    trace: CallTrace | undefined,
  ): Promise<Result> {
    const retry = this.settings.retry;
    if (
      retry &&
      attempt < retry.maxAttempts &&
      (reason === 'failure' || reason === 'timeout') &&
      retry.retryOn(error, reason)
    ) {
      if (!retry.budget || retry.budget.tryWithdraw()) {
        this.#counts.add('retry');
        const delay = fullJitterDelay(attempt, retry.baseDelayMs, retry.maxDelayMs);
        return sleep(delay, undefined, callerSignal ? { signal: callerSignal } : undefined).then(
          () => this.#attempt(attempt + 1, started, callerSignal, args, trace),
          () => {
            this.#counts.add('cancelled');
            throw new AbortedError({ cause: callerSignal?.reason });
          },
        );
      }
      this.#counts.add('retryBudgetExhausted');
    }
    if (trace) trace.fallbackReason = reason;
    return this.#fallback(reason, error, started, args);
  }

  #fallback(reason: FailureReason, error: unknown, started: number, args: Args): Promise<Result> {
    const { fallback, key } = this.settings;
    const done = (event: CommandEvent) => {
      this.#counts.add(event);
      this.#recordTotal(started);
    };
    if (!fallback) {
      this.unrecovered(started);
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
        if (this.events.wants('fallback')) this.events.emit('fallback', { command: key, reason, error, result: value });
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
    this.settings.logger?.info(
      { command: this.settings.key, group: this.settings.group, circuit: state },
      `circuit ${state}`,
    );
    const { events } = this;
    const command = this.settings.key;
    if (state === 'open') {
      if (events.wants('open')) events.emit('open', { command, health: this.breaker.health() });
    } else if (state === 'closed') {
      if (events.wants('close')) events.emit('close', { command });
    } else if (events.wants('halfOpen')) {
      events.emit('halfOpen', { command, sleepWindowMs: this.settings.breaker.sleepWindowMs });
    }
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
      cumulativeCounts: this.#counts.cumulative(),
      concurrency: { current: this.#concurrency, rollingMax: this.#counts.maxConcurrency(t) },
      latencyExecute: RollingLatency.snapshotOf([this.#latencyBoth, this.#latencyExecuteOnly], t),
      latencyTotal: RollingLatency.snapshotOf([this.#latencyBoth, this.#latencyTotalOnly], t),
      settings: {
        timeoutMs: this.settings.timeoutMs,
        circuitBreaker: { ...this.settings.breaker },
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
