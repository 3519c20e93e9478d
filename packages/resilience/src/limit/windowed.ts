import { z } from 'zod';
import { parseOptions, wholeNumber } from './parse-options.js';
import type { ConcurrencyLimit } from './types.js';

/** Options of {@link windowedLimit}; every one is optional and defaults to Netflix's value. */
export interface WindowedLimitOptions {
  /** Shortest sampling window (default 1000 ms, at least 100). */
  minWindowTimeMs?: number | undefined;
  /** Longest sampling window (default 1000 ms, at least `minWindowTimeMs`). */
  maxWindowTimeMs?: number | undefined;
  /** A window needs more than this many samples before it is handed on (default 10, at least 10). */
  windowSize?: number | undefined;
  /** Samples faster than this are ignored (default 0.1 ms). */
  minRttThresholdMs?: number | undefined;
}

const schema = z
  .strictObject({
    minWindowTimeMs: z
      .number({ error: 'minWindowTimeMs must be a number of milliseconds' })
      .gte(100, 'minWindowTimeMs must be at least 100')
      .default(1000),
    maxWindowTimeMs: z
      .number({ error: 'maxWindowTimeMs must be a number of milliseconds' })
      .gte(100, 'maxWindowTimeMs must be at least 100')
      .default(1000),
    windowSize: wholeNumber('windowSize').min(10, 'windowSize must be at least 10').default(10),
    minRttThresholdMs: z
      .number({ error: 'minRttThresholdMs must be a number of milliseconds' })
      .gte(0, 'minRttThresholdMs must be at least 0')
      .default(0.1),
  })
  .superRefine((o, ctx) => {
    if (o.maxWindowTimeMs < o.minWindowTimeMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxWindowTimeMs'],
        message: `maxWindowTimeMs must be at least minWindowTimeMs (${o.minWindowTimeMs})`,
      });
    }
  });

class WindowedLimit implements ConcurrencyLimit {
  readonly #delegate: ConcurrencyLimit;
  readonly #minWindowTime: number;
  readonly #maxWindowTime: number;
  readonly #windowSize: number;
  readonly #minRttThreshold: number;
  #nextUpdateTime = 0;
  // The current window (Netflix's ImmutableAverageSampleWindow, kept as mutable fields).
  #minRtt = Number.POSITIVE_INFINITY;
  #sum = 0;
  #maxInflight = 0;
  #count = 0;
  #didDrop = false;

  constructor(delegate: ConcurrencyLimit, o: z.output<typeof schema>) {
    this.#delegate = delegate;
    this.#minWindowTime = o.minWindowTimeMs;
    this.#maxWindowTime = o.maxWindowTimeMs;
    this.#windowSize = o.windowSize;
    this.#minRttThreshold = o.minRttThresholdMs;
  }

  get limit(): number {
    return this.#delegate.limit;
  }

  onChange(listener: (limit: number) => void): () => void {
    return this.#delegate.onChange(listener);
  }

  onSample(startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): void {
    if (!(rttMs >= this.#minRttThreshold)) return;

    if (rttMs < this.#minRtt) this.#minRtt = rttMs;
    this.#sum += rttMs;
    if (inflight > this.#maxInflight) this.#maxInflight = inflight;
    this.#count++;
    this.#didDrop ||= didDrop;

    const endTime = startTimeMs + rttMs;
    if (endTime > this.#nextUpdateTime && this.#count > this.#windowSize) {
      const averageRtt = this.#sum / this.#count;
      const maxInflight = this.#maxInflight;
      const windowDidDrop = this.#didDrop;
      this.#nextUpdateTime = endTime + Math.min(Math.max(this.#minRtt * 2, this.#minWindowTime), this.#maxWindowTime);
      this.#minRtt = Number.POSITIVE_INFINITY;
      this.#sum = 0;
      this.#maxInflight = 0;
      this.#count = 0;
      this.#didDrop = false;
      this.#delegate.onSample(startTimeMs, averageRtt, maxInflight, windowDidDrop);
    }
  }

  toString(): string {
    return `WindowedLimit [${String(this.#delegate)}]`;
  }
}

/**
 * Feeds `delegate` one aggregated sample per time window instead of one per
 * call (Netflix's `WindowedLimit` with an average sample window): the
 * window's average RTT, its largest inflight count, and whether any call in
 * it dropped. A window closes once it is at least `minWindowTimeMs` long
 * (or twice its fastest RTT, capped at `maxWindowTimeMs`) and holds more than
 * `windowSize` samples.
 *
 * Netflix recommends this wrapper for the delay-based algorithms: updating on
 * every call reacts to RTTs that describe the load of one RTT ago, and
 * oscillates.
 *
 * @throws {TypeError} on invalid options, naming the option and its range.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: windowedLimit(vegasLimit(), { minWindowTimeMs: 250, maxWindowTimeMs: 1000 }) });
 * ```
 */
export function windowedLimit(delegate: ConcurrencyLimit, options?: WindowedLimitOptions): ConcurrencyLimit {
  if (typeof delegate !== 'object' || delegate === null || typeof delegate.onSample !== 'function') {
    throw new TypeError('windowedLimit: delegate must be a ConcurrencyLimit, e.g. windowedLimit(vegasLimit())');
  }
  return new WindowedLimit(delegate, parseOptions('windowedLimit', schema, options));
}
