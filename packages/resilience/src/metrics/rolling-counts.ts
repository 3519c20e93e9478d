import { COMMAND_EVENTS, type CommandEvent, EVENT_INDEX } from './events.js';

const EVENTS = COMMAND_EVENTS.length;

/** Counts per event over the rolling window. */
export type EventCounts = Record<CommandEvent, number>;

/** Error-rate inputs of the circuit breaker, Hystrix's `HealthCounts`. */
export interface HealthCounts {
  /** success + failure + timeout + rejected: the calls that were attempted or rejected. */
  totalRequests: number;
  /** failure + timeout + rejected. */
  errorCount: number;
  /** `errorCount / totalRequests` as a whole percentage (0 when there were no requests). */
  errorPercentage: number;
}

/**
 * Event counters over a rolling window of `buckets` buckets (Hystrix's
 * `HystrixRollingNumber`): O(1) per recorded event, no timer, no allocation;
 * buckets are recycled as time moves on. Also tracks the highest concurrency
 * seen per bucket.
 */
export class RollingCounts {
  readonly windowMs: number;
  readonly buckets: number;
  readonly #bucketMs: number;
  readonly #counts: Float64Array;
  readonly #maxConcurrency: Float64Array;
  readonly #epochs: Float64Array;
  readonly #cumulative = new Float64Array(EVENTS);
  readonly #now: () => number;

  constructor(windowMs: number, buckets: number, now: () => number) {
    this.windowMs = windowMs;
    this.buckets = buckets;
    this.#bucketMs = windowMs / buckets;
    this.#counts = new Float64Array(buckets * EVENTS);
    this.#maxConcurrency = new Float64Array(buckets);
    this.#epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#now = now;
  }

  /** Slot of the current bucket, recycled if it holds an older epoch. */
  #slot(now: number): number {
    const epoch = Math.floor(now / this.#bucketMs);
    const slot = epoch % this.buckets;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#counts.fill(0, slot * EVENTS, slot * EVENTS + EVENTS);
      this.#maxConcurrency[slot] = 0;
    }
    return slot;
  }

  /** Counts one `event` (at `now`, default the clock's now). */
  add(event: CommandEvent, now: number = this.#now()): void {
    const offset = EVENT_INDEX[event];
    const index = this.#slot(now) * EVENTS + offset;
    this.#counts[index] = (this.#counts[index] as number) + 1;
    this.#cumulative[offset] = (this.#cumulative[offset] as number) + 1;
  }

  /** Every event's count since the counters were created (never reset, never rolls). */
  cumulative(): EventCounts {
    const out = {} as EventCounts;
    for (const event of COMMAND_EVENTS) out[event] = this.#cumulative[EVENT_INDEX[event]] as number;
    return out;
  }

  /** Records the concurrency seen at `now`, keeping the bucket's maximum. */
  observeConcurrency(concurrency: number, now: number = this.#now()): void {
    const slot = this.#slot(now);
    if (concurrency > (this.#maxConcurrency[slot] as number)) this.#maxConcurrency[slot] = concurrency;
  }

  /** The oldest epoch still inside the window at `now`. */
  #oldestLiveEpoch(now: number): number {
    return Math.floor(now / this.#bucketMs) - this.buckets + 1;
  }

  /** Sum of one event over the window. */
  count(event: CommandEvent, now: number = this.#now()): number {
    const oldest = this.#oldestLiveEpoch(now);
    const offset = EVENT_INDEX[event];
    let sum = 0;
    for (let slot = 0; slot < this.buckets; slot++) {
      if ((this.#epochs[slot] as number) >= oldest) sum += this.#counts[slot * EVENTS + offset] as number;
    }
    return sum;
  }

  /** Every event's sum over the window. */
  counts(now: number = this.#now()): EventCounts {
    const out = {} as EventCounts;
    for (const event of COMMAND_EVENTS) out[event] = this.count(event, now);
    return out;
  }

  /** The highest concurrency seen in the window. */
  maxConcurrency(now: number = this.#now()): number {
    const oldest = this.#oldestLiveEpoch(now);
    let max = 0;
    for (let slot = 0; slot < this.buckets; slot++) {
      if ((this.#epochs[slot] as number) >= oldest && (this.#maxConcurrency[slot] as number) > max) {
        max = this.#maxConcurrency[slot] as number;
      }
    }
    return max;
  }

  /** Hystrix's health counts: what the circuit breaker decides on. O(buckets). */
  health(now: number = this.#now()): HealthCounts {
    const success = this.count('success', now);
    const errorCount = this.count('failure', now) + this.count('timeout', now) + this.count('rejected', now);
    const totalRequests = success + errorCount;
    return {
      totalRequests,
      errorCount,
      errorPercentage: totalRequests === 0 ? 0 : Math.trunc((errorCount / totalRequests) * 100),
    };
  }

  /** Forgets the window (Hystrix resets health counts when a circuit closes); cumulative counts stay. */
  reset(): void {
    this.#epochs.fill(Number.NEGATIVE_INFINITY);
  }
}
