import type { HealthCounts } from '../metrics/rolling-counts.js';

/**
 * The circuit breaker's health over a rolling window of `buckets` buckets:
 * successes and errors, with running totals so that reading the error rate is
 * O(1). The breaker can then evaluate its rule on every completion — success
 * or error — at the cost of two additions and a comparison. Buckets that fall
 * out of the window are subtracted once, when time first reaches a new bucket
 * (O(buckets) once per bucket interval). No timer, no allocation.
 * @internal
 */
export class HealthWindow {
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #successes: Float64Array;
  readonly #errors: Float64Array;
  readonly #epochs: Float64Array;
  readonly #now: () => number;
  #epoch = Number.NEGATIVE_INFINITY;
  #slot = 0;
  #totalSuccesses = 0;
  #totalErrors = 0;

  constructor(windowMs: number, buckets: number, now: () => number) {
    this.#bucketMs = windowMs / buckets;
    this.#buckets = buckets;
    this.#successes = new Float64Array(buckets);
    this.#errors = new Float64Array(buckets);
    this.#epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#now = now;
  }

  /** Moves the window to `now`: drops the buckets that left it. Events never go back in time. */
  #advance(now: number): void {
    const epoch = Math.floor(now / this.#bucketMs);
    if (epoch <= this.#epoch) return;
    const oldest = epoch - this.#buckets + 1;
    for (let slot = 0; slot < this.#buckets; slot++) {
      if ((this.#epochs[slot] as number) < oldest) {
        this.#totalSuccesses -= this.#successes[slot] as number;
        this.#totalErrors -= this.#errors[slot] as number;
        this.#successes[slot] = 0;
        this.#errors[slot] = 0;
        this.#epochs[slot] = Number.NEGATIVE_INFINITY;
      }
    }
    this.#epoch = epoch;
    this.#slot = epoch % this.#buckets;
    this.#epochs[this.#slot] = epoch;
  }

  /** Counts a success (at `now`, default the clock's now). */
  success(now: number = this.#now()): void {
    this.#advance(now);
    this.#successes[this.#slot] = (this.#successes[this.#slot] as number) + 1;
    this.#totalSuccesses++;
  }

  /** Counts an error: a failure, a timeout or a rejection. */
  error(now: number = this.#now()): void {
    this.#advance(now);
    this.#errors[this.#slot] = (this.#errors[this.#slot] as number) + 1;
    this.#totalErrors++;
  }

  /**
   * Whether the window holds at least `volume` requests and an error
   * percentage (whole, truncated, as Hystrix's) at or above `threshold`.
   * Reads the totals as of the last recorded event.
   */
  exceeds(volume: number, threshold: number): boolean {
    const total = this.#totalSuccesses + this.#totalErrors;
    return total >= volume && Math.trunc((this.#totalErrors / total) * 100) >= threshold;
  }

  /** Hystrix's health counts at `now`. */
  health(now: number = this.#now()): HealthCounts {
    this.#advance(now);
    const errorCount = this.#totalErrors;
    const totalRequests = this.#totalSuccesses + errorCount;
    return {
      totalRequests,
      errorCount,
      errorPercentage: totalRequests === 0 ? 0 : Math.trunc((errorCount / totalRequests) * 100),
    };
  }

  /** Adds counts to the current bucket (restoring exported state). */
  seed(successes: number, errors: number, now: number = this.#now()): void {
    this.#advance(now);
    this.#successes[this.#slot] = (this.#successes[this.#slot] as number) + successes;
    this.#errors[this.#slot] = (this.#errors[this.#slot] as number) + errors;
    this.#totalSuccesses += successes;
    this.#totalErrors += errors;
  }

  /** Forgets the window (Hystrix resets health counts when a circuit closes). */
  reset(): void {
    this.#successes.fill(0);
    this.#errors.fill(0);
    this.#epochs.fill(Number.NEGATIVE_INFINITY);
    this.#totalSuccesses = 0;
    this.#totalErrors = 0;
    this.#epoch = Number.NEGATIVE_INFINITY;
  }
}
