import OpossumBreaker from 'opossum';
import type { HealthCounts } from '../metrics/rolling-counts.js';
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
 * Hystrix's circuit breaker, with opossum's state machine underneath.
 *
 * opossum holds the state (closed → open → half-open) and the sleep-window
 * timer; this class decides when to open with Hystrix's rule — at least
 * `requestVolumeThreshold` requests in the rolling window and an error
 * percentage (failures + timeouts + rejections over those plus successes,
 * bad requests and short-circuits excluded) **at or above** the threshold —
 * lets exactly one trial through when half-open, and resets the health counts
 * when the circuit closes. It never wraps the call itself, so it adds no
 * promise, timer or event to the hot path.
 * @internal
 */
export class CircuitBreaker {
  readonly options: ResolvedCircuitBreakerOptions;
  readonly #health: HealthWindow;
  readonly #state: OpossumBreaker;
  #trialAvailable = false;
  #onChange: ((state: CircuitState) => void) | undefined;

  constructor(
    name: string,
    options: ResolvedCircuitBreakerOptions,
    window: { windowMs: number; buckets: number },
    now: () => number,
  ) {
    this.options = options;
    this.#health = new HealthWindow(window.windowMs, window.buckets, now);
    this.#state = new OpossumBreaker(async () => undefined, {
      name,
      resetTimeout: options.sleepWindowMs,
      // opossum's own tripping, timeout, bulkhead and percentiles are not used: Backlot decides.
      timeout: false,
      volumeThreshold: Number.MAX_SAFE_INTEGER,
      errorThresholdPercentage: 100,
      rollingCountTimeout: window.windowMs,
      rollingCountBuckets: window.buckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    } as OpossumBreaker.Options);
    this.#state.on('halfOpen', () => {
      this.#trialAvailable = true;
      this.#onChange?.('half-open');
    });
    this.#state.on('open', () => this.#onChange?.('open'));
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

  /** Hystrix's health counts over the window. */
  health(): HealthCounts {
    return this.#health.health();
  }

  /** Stops the sleep-window timer and opossum's bucket timer. */
  shutdown(): void {
    this.#state.shutdown();
  }
}
