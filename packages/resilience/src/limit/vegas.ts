import { z } from 'zod';
import { AbstractLimit } from './abstract-limit.js';
import { log10Root } from './log10-root.js';
import { limitFunction, numberOrFunction, parseOptions, smoothing, wholeNumber } from './parse-options.js';
import type { ConcurrencyLimit, LimitFunction } from './types.js';

/** Options of {@link vegasLimit}; every one is optional and defaults to Netflix's value. */
export interface VegasLimitOptions {
  /** The limit before any sample (default 20); between 1 and `maxConcurrency`. */
  initialLimit?: number | undefined;
  /** Upper bound of the limit (default 1000). */
  maxConcurrency?: number | undefined;
  /** Weight of a new estimate against the current one (default 1: no smoothing), in (0, 1]. */
  smoothing?: number | undefined;
  /** Queue size below which the limit grows by `increase` (default `3 * log10(limit)`). */
  alpha?: number | LimitFunction | undefined;
  /** Queue size above which the limit shrinks by `decrease` (default `6 * log10(limit)`); also the aggressive step. */
  beta?: number | LimitFunction | undefined;
  /** Queue size at or below which the limit grows by `beta` (default `log10(limit)`). */
  threshold?: number | LimitFunction | undefined;
  /** The next limit when growing (default `limit + log10(limit)`). */
  increase?: LimitFunction | undefined;
  /** The next limit when shrinking, and on every drop (default `limit - log10(limit)`). */
  decrease?: LimitFunction | undefined;
  /** Probe for a new no-load RTT every `probeMultiplier × limit` samples, with jitter (default 30). */
  probeMultiplier?: number | undefined;
}

const schema = z
  .strictObject({
    initialLimit: wholeNumber('initialLimit').default(20),
    maxConcurrency: wholeNumber('maxConcurrency').min(1, 'maxConcurrency must be at least 1').default(1000),
    smoothing: smoothing(1),
    alpha: numberOrFunction('alpha').optional(),
    beta: numberOrFunction('beta').optional(),
    threshold: numberOrFunction('threshold').optional(),
    increase: limitFunction('increase').optional(),
    decrease: limitFunction('decrease').optional(),
    probeMultiplier: wholeNumber('probeMultiplier').min(1, 'probeMultiplier must be at least 1').default(30),
  })
  .superRefine((o, ctx) => {
    if (o.initialLimit < 1 || o.initialLimit > o.maxConcurrency) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialLimit'],
        message: `initialLimit must be between 1 and maxConcurrency (${o.maxConcurrency})`,
      });
    }
  });

const toFunction = (value: number | LimitFunction | undefined, fallback: LimitFunction): LimitFunction =>
  value === undefined ? fallback : typeof value === 'number' ? () => value : value;

class VegasLimit extends AbstractLimit {
  #estimatedLimit: number;
  #rttNoLoad = 0;
  #probeCount = 0;
  #probeJitter = 0;
  readonly #maxLimit: number;
  readonly #smoothing: number;
  readonly #alpha: LimitFunction;
  readonly #beta: LimitFunction;
  readonly #threshold: LimitFunction;
  readonly #increase: LimitFunction;
  readonly #decrease: LimitFunction;
  readonly #probeMultiplier: number;

  constructor(o: z.output<typeof schema>) {
    super(o.initialLimit);
    this.#estimatedLimit = o.initialLimit;
    this.#maxLimit = o.maxConcurrency;
    this.#smoothing = o.smoothing;
    this.#alpha = toFunction(o.alpha, (limit) => 3 * log10Root(limit));
    this.#beta = toFunction(o.beta, (limit) => 6 * log10Root(limit));
    this.#threshold = toFunction(o.threshold, log10Root);
    this.#increase = o.increase ?? ((limit) => limit + log10Root(Math.trunc(limit)));
    this.#decrease = o.decrease ?? ((limit) => limit - log10Root(Math.trunc(limit)));
    this.#probeMultiplier = o.probeMultiplier;
    this.#resetProbeJitter();
  }

  #resetProbeJitter(): void {
    this.#probeJitter = 0.5 + Math.random() * 0.5;
  }

  protected update(_startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): number {
    // Netflix throws on rtt <= 0; a sub-resolution JavaScript timing is ignored instead.
    if (!(rttMs > 0)) return Math.trunc(this.#estimatedLimit);

    this.#probeCount++;
    if (this.#probeJitter * this.#probeMultiplier * this.#estimatedLimit <= this.#probeCount) {
      this.#resetProbeJitter();
      this.#probeCount = 0;
      this.#rttNoLoad = rttMs;
      return Math.trunc(this.#estimatedLimit);
    }

    if (this.#rttNoLoad === 0 || rttMs < this.#rttNoLoad) {
      this.#rttNoLoad = rttMs;
      return Math.trunc(this.#estimatedLimit);
    }

    return this.#updateEstimatedLimit(rttMs, inflight, didDrop);
  }

  #updateEstimatedLimit(rttMs: number, inflight: number, didDrop: boolean): number {
    const estimatedLimit = this.#estimatedLimit;
    const queueSize = Math.ceil(estimatedLimit * (1 - this.#rttNoLoad / rttMs));

    let newLimit: number;
    if (didDrop) {
      // Treat any drop (i.e. timeout) as needing to reduce the limit.
      newLimit = this.#decrease(estimatedLimit);
    } else if (inflight * 2 < estimatedLimit) {
      // Prevent upward drift if not close to the limit.
      return Math.trunc(estimatedLimit);
    } else {
      const current = Math.trunc(estimatedLimit);
      const alpha = this.#alpha(current);
      const beta = this.#beta(current);
      const threshold = this.#threshold(current);
      if (queueSize <= threshold) {
        // Aggressive increase when no queuing.
        newLimit = estimatedLimit + beta;
      } else if (queueSize < alpha) {
        // Increase the limit if the queue is still manageable.
        newLimit = this.#increase(estimatedLimit);
      } else if (queueSize > beta) {
        // Detecting latency, so decrease.
        newLimit = this.#decrease(estimatedLimit);
      } else {
        // Within the sweet spot: nothing to do.
        return current;
      }
    }

    newLimit = Math.max(1, Math.min(this.#maxLimit, newLimit));
    newLimit = (1 - this.#smoothing) * estimatedLimit + this.#smoothing * newLimit;
    this.#estimatedLimit = newLimit;
    return Math.trunc(newLimit);
  }

  override toString(): string {
    return `VegasLimit [limit=${this.limit}, rttNoLoad=${this.#rttNoLoad} ms]`;
  }
}

/**
 * Delay-based limit modelled on TCP Vegas (Netflix's `VegasLimit`). It keeps
 * the lowest RTT seen as the no-load RTT and estimates the queue as
 * `limit × (1 − rttNoLoad / rtt)`: a queue at or under `threshold` grows the
 * limit by `beta`, under `alpha` grows it by `increase`, over `beta` shrinks
 * it by `decrease`; a drop always shrinks it. Every `probeMultiplier × limit`
 * samples (with 0.5–1 jitter) the no-load RTT is reset to the current RTT, so
 * that it can follow a dependency that became slower for good.
 *
 * @throws {TypeError} on invalid options, naming the option and its range.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: vegasLimit({ maxConcurrency: 500 }) });
 * const token = limiter.tryAcquire();
 * if (!token) throw new Error('over the limit: shed this request');
 * try {
 *   const res = await fetch('http://127.0.0.1:8081/titles/42');
 *   token.onSuccess();
 *   return res;
 * } catch (error) {
 *   token.onIgnore();
 *   throw error;
 * }
 * ```
 */
export function vegasLimit(options?: VegasLimitOptions): ConcurrencyLimit {
  return new VegasLimit(parseOptions('vegasLimit', schema, options));
}
