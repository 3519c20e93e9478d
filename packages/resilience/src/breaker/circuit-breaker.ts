import type { EventEmitter } from 'node:events';
import OpossumBreaker from 'opossum';
import type { HealthCounts } from '../metrics/rolling-counts.js';
import type { CircuitJson, RestoredCircuit } from './circuit-json.js';
import { HealthWindow } from './health-window.js';

/** States of a circuit. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Circuit-breaker settings; every default is Hystrix's. */
export interface CircuitBreakerOptions {
  /** Whether the circuit may open at all (default `true`). */
  enabled?: boolean | undefined;
  /** Requests in the rolling window before the error rate is considered (default 20). */
  requestVolumeThreshold?: number | undefined;
  /** Error percentage at or above which the circuit opens (default 50). */
  errorThresholdPercentage?: number | undefined;
  /** How long the circuit stays open before one trial call is let through (default 5000 ms). */
  sleepWindowMs?: number | undefined;
  /** Keep the circuit open, rejecting every call (default `false`). */
  forceOpen?: boolean | undefined;
  /** Keep the circuit closed whatever the error rate; metrics still count (default `false`). */
  forceClosed?: boolean | undefined;
}

/** Resolved settings of a circuit breaker. */
export interface ResolvedCircuitBreakerOptions {
  enabled: boolean;
  requestVolumeThreshold: number;
  errorThresholdPercentage: number;
  sleepWindowMs: number;
  forceOpen: boolean;
  forceClosed: boolean;
}

/**
 * opossum rotates its statistics buckets on a timer, one per breaker, unless
 * given a rotation controller. Backlot keeps its own statistics and never
 * fires opossum, so its controller never rotates and holds no listener: no
 * idle interval per command.
 */
const NEVER_ROTATES = {
  listenerCount: () => 1,
  on: () => NEVER_ROTATES,
  removeListener: () => NEVER_ROTATES,
} as unknown as EventEmitter;

/**
 * Hystrix's circuit breaker, with opossum's state machine underneath.
 *
 * opossum holds the state (closed → open → half-open), runs the sleep-window
 * timer, and restores an exported state (its `state` option). This class
 * decides when to open with Hystrix's rule — at least
 * `requestVolumeThreshold` requests in the rolling window and an error
 * percentage (failures + timeouts + rejections over those plus successes,
 * bad requests and short-circuits excluded) **at or above** the threshold,
 * evaluated on every completion — lets exactly one trial through when
 * half-open, and resets the health counts when the circuit closes. It never
 * wraps the call itself, so it adds no promise, timer or event to the hot path.
 * @internal
 */
export class CircuitBreaker {
  readonly options: ResolvedCircuitBreakerOptions;
  readonly #name: string;
  readonly #health: HealthWindow;
  readonly #state: OpossumBreaker;
  #trialAvailable = false;
  #openedAt: number | undefined;
  #onChange: ((state: CircuitState) => void) | undefined;

  constructor(
    name: string,
    options: ResolvedCircuitBreakerOptions,
    window: { windowMs: number; buckets: number },
    now: () => number,
    restored?: RestoredCircuit,
  ) {
    this.options = options;
    this.#name = name;
    this.#health = new HealthWindow(window.windowMs, window.buckets, now);
    const saved = restored?.state;
    if (saved) {
      if (saved.enabled !== undefined) options.enabled = saved.enabled;
      if (saved.forceOpen !== undefined) options.forceOpen = saved.forceOpen;
      if (saved.forceClosed !== undefined) options.forceClosed = saved.forceClosed && !options.forceOpen;
      if (saved.lastTimerAt !== undefined) this.#openedAt = saved.lastTimerAt;
    }
    this.#state = new OpossumBreaker(async () => undefined, {
      name,
      resetTimeout: options.sleepWindowMs,
      // opossum's own tripping, timeout, bulkhead, statistics and timers are not used: Backlot decides.
      timeout: false,
      volumeThreshold: Number.MAX_SAFE_INTEGER,
      errorThresholdPercentage: 100,
      rollingCountTimeout: window.windowMs,
      rollingCountBuckets: window.buckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: NEVER_ROTATES,
      // opossum's restore: an open circuit whose sleep window has passed comes back half-open.
      ...(saved && {
        state: {
          name,
          enabled: true,
          closed: saved.closed,
          open: saved.open ?? (!saved.closed && !saved.halfOpen),
          halfOpen: saved.halfOpen ?? false,
          warmUp: false,
          shutdown: false,
          lastTimerAt: saved.lastTimerAt ?? Date.now(),
        },
      }),
    } as OpossumBreaker.Options);
    if (this.#state.halfOpen) this.#trialAvailable = true;
    const status = restored?.status;
    if (status && this.#state.closed) {
      const errors = status.errors ?? (status.failures ?? 0) + (status.timeouts ?? 0);
      this.#health.seed(status.successes ?? 0, errors);
    }
    this.#state.on('halfOpen', () => {
      this.#trialAvailable = true;
      this.#onChange?.('half-open');
    });
    this.#state.on('open', () => {
      this.#openedAt = Date.now();
      this.#trialAvailable = false;
      this.#onChange?.('open');
    });
    this.#state.on('close', () => {
      this.#health.reset();
      this.#onChange?.('closed');
    });
  }

  /** Called on every state change. */
  onStateChange(listener: (state: CircuitState) => void): void {
    this.#onChange = listener;
  }

  /** The circuit's state. */
  get state(): CircuitState {
    if (this.options.forceOpen) return 'open';
    if (this.#state.halfOpen) return 'half-open';
    return this.#state.opened ? 'open' : 'closed';
  }

  /** Whether a call may go ahead now. In half-open, only the first caller gets `true`. */
  allowRequest(): boolean {
    const { options } = this;
    if (options.forceOpen) return false;
    if (options.forceClosed || !options.enabled) return true;
    const state = this.#state;
    if (state.closed) return true;
    if (state.halfOpen && this.#trialAvailable) {
      this.#trialAvailable = false;
      return true;
    }
    return false;
  }

  /**
   * An allowed call succeeded (`at`: the caller's clock reading). The window
   * is evaluated on successes too, so the order of events does not matter:
   * 10 failures then 10 successes open the circuit as surely as the reverse.
   */
  onSuccess(at?: number): void {
    this.#health.success(at);
    const state = this.#state;
    if (state.halfOpen) state.close();
    else if (state.closed) this.#evaluate();
  }

  /** Opens a closed circuit when the window meets Hystrix's rule. */
  #evaluate(): void {
    const { options } = this;
    if (!options.enabled || options.forceClosed || options.forceOpen) return;
    if (this.#health.exceeds(options.requestVolumeThreshold, options.errorThresholdPercentage)) this.#state.open();
  }

  /** An allowed call failed or timed out, or a call was rejected by the bulkhead. */
  onError(kind: 'failure' | 'timeout' | 'rejected', at?: number): void {
    this.#health.error(at);
    const { options } = this;
    if (!options.enabled || options.forceClosed || options.forceOpen) return;
    if (this.#state.halfOpen) {
      if (kind === 'rejected')
        this.#trialAvailable = true; // the trial never ran: let another through
      else this.#state.open(); // the trial failed: sleep again
      return;
    }
    if (this.#state.closed) this.#evaluate();
  }

  /**
   * An allowed call ended without a verdict (bad request, caller gave up): in
   * half-open, the trial is given back and the next caller is the trial
   * (Hystrix re-opens instead; a bad request says nothing of the dependency).
   */
  onNeutral(): void {
    if (this.#state.halfOpen) this.#trialAvailable = true;
  }

  /** Opens the circuit now; it goes half-open after the sleep window (opossum's `open()`). */
  open(): void {
    this.#state.open();
  }

  /** Closes the circuit now and resets its health counts (opossum's `close()`). */
  close(): void {
    if (this.#state.closed) this.#health.reset();
    else this.#state.close();
  }

  /** Changes settings at run time (Hystrix's dynamic properties); `options` is updated in place. */
  configure(changes: CircuitBreakerOptions): void {
    const { options } = this;
    if (changes.enabled !== undefined) options.enabled = changes.enabled;
    if (changes.requestVolumeThreshold !== undefined) options.requestVolumeThreshold = changes.requestVolumeThreshold;
    if (changes.errorThresholdPercentage !== undefined) {
      options.errorThresholdPercentage = changes.errorThresholdPercentage;
    }
    if (changes.sleepWindowMs !== undefined) {
      options.sleepWindowMs = changes.sleepWindowMs;
      // opossum reads it each time the circuit opens.
      (this.#state as unknown as { options: { resetTimeout: number } }).options.resetTimeout = changes.sleepWindowMs;
    }
    if (changes.forceOpen !== undefined) options.forceOpen = changes.forceOpen;
    if (changes.forceClosed !== undefined) options.forceClosed = changes.forceClosed;
    // A closed circuit whose window already meets the (new) rule opens now.
    if (this.#state.closed) this.#evaluate();
  }

  /** The state to save and pass back as the `state` option (opossum's `toJSON()` shape). */
  toJSON(): CircuitJson {
    const state = this.#state;
    const health = this.#health.health();
    return {
      state: {
        name: this.#name,
        enabled: this.options.enabled,
        closed: state.closed,
        open: state.opened,
        halfOpen: state.halfOpen,
        warmUp: false,
        shutdown: state.isShutdown,
        lastTimerAt: this.#openedAt,
        forceOpen: this.options.forceOpen,
        forceClosed: this.options.forceClosed,
      },
      status: { successes: health.totalRequests - health.errorCount, errors: health.errorCount },
    };
  }

  /** Hystrix's health counts over the window. */
  health(): HealthCounts {
    return this.#health.health();
  }

  /** Stops the sleep-window timer. */
  shutdown(): void {
    this.#state.shutdown();
  }
}
