import { z } from 'zod';
import { AbstractLimit } from './abstract-limit.js';
import { ExpAvgMeasurement } from './exp-avg-measurement.js';
import { numberOrFunction, parseOptions, smoothing, wholeNumber } from './parse-options.js';
import type { ConcurrencyLimit, LimitFunction } from './types.js';

/** Options of {@link gradient2Limit}; every one is optional and defaults to Netflix's value. */
export interface Gradient2LimitOptions {
  /** The limit before any sample (default 20); between `minLimit` and `maxConcurrency`. */
  initialLimit?: number | undefined;
  /** The limit never goes below this (default 20, at least 1). */
  minLimit?: number | undefined;
  /** The limit never goes above this (default 200). */
  maxConcurrency?: number | undefined;
  /** Weight of a new estimate against the current one (default 0.2), in (0, 1]. */
  smoothing?: number | undefined;
  /** How much the RTT may grow over its long-term average before the limit shrinks (default 1.5), at least 1. */
  rttTolerance?: number | undefined;
  /** Number of samples of the long-term RTT average (default 600). */
  longWindow?: number | undefined;
  /** How much the limit may grow while latency holds, fixed or a function of the limit (default 4). */
  queueSize?: number | LimitFunction | undefined;
}

const schema = z
  .strictObject({
    initialLimit: wholeNumber('initialLimit').default(20),
    minLimit: wholeNumber('minLimit').default(20),
    maxConcurrency: wholeNumber('maxConcurrency').default(200),
    smoothing: smoothing(0.2),
    rttTolerance: z
      .number({ error: 'rttTolerance must be a number' })
      .gte(1, 'rttTolerance must be at least 1')
      .refine(Number.isFinite, 'rttTolerance must be finite')
      .default(1.5),
    longWindow: wholeNumber('longWindow').min(1, 'longWindow must be at least 1').default(600),
    queueSize: numberOrFunction('queueSize').default(4),
  })
  .superRefine((o, ctx) => {
    if (o.maxConcurrency < 1) {
      ctx.addIssue({ code: 'custom', path: ['maxConcurrency'], message: 'maxConcurrency must be at least 1' });
    }
    if (o.minLimit < 1 || o.minLimit > o.maxConcurrency) {
      ctx.addIssue({
        code: 'custom',
        path: ['minLimit'],
        message: `minLimit must be between 1 and maxConcurrency (${o.maxConcurrency})`,
      });
    } else if (o.initialLimit < o.minLimit || o.initialLimit > o.maxConcurrency) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialLimit'],
        message: `initialLimit must be between minLimit (${o.minLimit}) and maxConcurrency (${o.maxConcurrency})`,
      });
    }
  });

class Gradient2Limit extends AbstractLimit {
  #estimatedLimit: number;
  #lastRtt = 0;
  readonly #longRtt: ExpAvgMeasurement;
  readonly #minLimit: number;
  readonly #maxLimit: number;
  readonly #queueSize: LimitFunction;
  readonly #smoothing: number;
  readonly #tolerance: number;

  constructor(o: z.output<typeof schema>) {
    super(o.initialLimit);
    this.#estimatedLimit = o.initialLimit;
    this.#minLimit = o.minLimit;
    this.#maxLimit = o.maxConcurrency;
    const queueSize = o.queueSize;
    this.#queueSize = typeof queueSize === 'number' ? () => queueSize : queueSize;
    this.#smoothing = o.smoothing;
    this.#tolerance = o.rttTolerance;
    this.#longRtt = new ExpAvgMeasurement(o.longWindow, 10);
  }

  protected update(_startTimeMs: number, rttMs: number, inflight: number, _didDrop: boolean): number {
    // A sub-resolution JavaScript timing (0 ms) would make the gradient NaN: ignore it.
    if (!(rttMs > 0)) return Math.trunc(this.#estimatedLimit);

    const estimatedLimit = this.#estimatedLimit;
    const queueSize = this.#queueSize(Math.trunc(estimatedLimit));

    this.#lastRtt = rttMs;
    const shortRtt = rttMs;
    const longRtt = this.#longRtt.add(rttMs);

    // If the long RTT is substantially larger than the short RTT then reduce the long RTT measurement.
    // This can happen when latency returns to normal after a prolonged period of excessive load. Reducing
    // the long RTT without waiting for the exponential smoothing helps bring the system back to steady state.
    if (longRtt / shortRtt > 2) {
      this.#longRtt.update((current) => current * 0.95);
    }

    // Don't grow the limit if we are app limited.
    if (inflight < estimatedLimit / 2) return Math.trunc(estimatedLimit);

    // Rtt could be higher than the long RTT because of smoothing, so cap at 1.0 to indicate no queuing;
    // otherwise don't let it reduce the limit by more than half, to avoid aggressive load-shedding on outliers.
    const gradient = Math.max(0.5, Math.min(1, (this.#tolerance * longRtt) / shortRtt));
    let newLimit = estimatedLimit * gradient + queueSize;
    newLimit = estimatedLimit * (1 - this.#smoothing) + newLimit * this.#smoothing;
    newLimit = Math.max(this.#minLimit, Math.min(this.#maxLimit, newLimit));

    this.#estimatedLimit = newLimit;
    return Math.trunc(newLimit);
  }

  override toString(): string {
    return `Gradient2Limit [limit=${this.limit}, lastRtt=${this.#lastRtt} ms, longRtt=${this.#longRtt.value} ms]`;
  }
}

/**
 * Delay-based limit from the gradient between a long-term average RTT and
 * the current RTT (Netflix's `Gradient2Limit`):
 *
 * ```text
 * gradient = max(0.5, min(1, rttTolerance × longRtt / rtt))
 * newLimit = limit × gradient + queueSize
 * limit    = limit × (1 − smoothing) + newLimit × smoothing, within [minLimit, maxConcurrency]
 * ```
 *
 * The long-term RTT is an exponential moving average over `longWindow`
 * samples (a plain average over the first 10), decayed by 5 % whenever it is
 * more than twice the current RTT so that it recovers quickly after a long
 * overload. The limit does not grow while fewer than half of it are in flight.
 *
 * @throws {TypeError} on invalid options, naming the option and its range.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: gradient2Limit({ minLimit: 10, initialLimit: 50, maxConcurrency: 400 }) });
 * ```
 */
export function gradient2Limit(options?: Gradient2LimitOptions): ConcurrencyLimit {
  return new Gradient2Limit(parseOptions('gradient2Limit', schema, options));
}
