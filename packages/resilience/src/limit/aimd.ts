import { z } from 'zod';
import { AbstractLimit } from './abstract-limit.js';
import { parseOptions, wholeNumber } from './parse-options.js';
import type { ConcurrencyLimit } from './types.js';

/** Options of {@link aimdLimit}; every one is optional. */
export interface AimdLimitOptions {
  /** The limit before any sample (default 20); between `minLimit` and `maxLimit`. */
  initialLimit?: number | undefined;
  /** The limit never goes below this (default 20, at least 1). */
  minLimit?: number | undefined;
  /** The limit never goes above this (default 200). */
  maxLimit?: number | undefined;
  /** Factor applied to the limit on a drop (default 0.9), in [0.5, 1). */
  backoffRatio?: number | undefined;
  /** A call slower than this counts as a drop (default 5000 ms). */
  timeoutMs?: number | undefined;
}

const schema = z
  .strictObject({
    initialLimit: wholeNumber('initialLimit').default(20),
    minLimit: wholeNumber('minLimit').default(20),
    maxLimit: wholeNumber('maxLimit').default(200),
    backoffRatio: z
      .number({ error: 'backoffRatio must be a number' })
      .gte(0.5, 'backoffRatio must be in the range [0.5, 1)')
      .lt(1, 'backoffRatio must be in the range [0.5, 1)')
      .default(0.9),
    timeoutMs: z
      .number({ error: 'timeoutMs must be a number of milliseconds' })
      .positive('timeoutMs must be greater than 0')
      .default(5000),
  })
  .superRefine((o, ctx) => {
    if (o.maxLimit < 1) ctx.addIssue({ code: 'custom', path: ['maxLimit'], message: 'maxLimit must be at least 1' });
    if (o.minLimit < 1 || o.minLimit > o.maxLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['minLimit'],
        message: `minLimit must be between 1 and maxLimit (${o.maxLimit})`,
      });
    } else if (o.initialLimit < o.minLimit || o.initialLimit > o.maxLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialLimit'],
        message: `initialLimit must be between minLimit (${o.minLimit}) and maxLimit (${o.maxLimit})`,
      });
    }
  });

class AimdLimit extends AbstractLimit {
  readonly #minLimit: number;
  readonly #maxLimit: number;
  readonly #backoffRatio: number;
  readonly #timeoutMs: number;

  constructor(o: z.output<typeof schema>) {
    super(o.initialLimit);
    this.#minLimit = o.minLimit;
    this.#maxLimit = o.maxLimit;
    this.#backoffRatio = o.backoffRatio;
    this.#timeoutMs = o.timeoutMs;
  }

  protected update(_startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): number {
    let limit = this.limit;
    if (didDrop || rttMs > this.#timeoutMs) {
      limit = Math.trunc(limit * this.#backoffRatio);
    } else if (inflight * 2 >= limit) {
      limit = limit + 1;
    }
    return Math.min(this.#maxLimit, Math.max(this.#minLimit, limit));
  }

  override toString(): string {
    return `AimdLimit [limit=${this.limit}]`;
  }
}

/**
 * Loss-based limit (Netflix's `AIMDLimit`): additive increase by 1 while calls
 * succeed and at least half the limit is in use, multiplicative decrease by
 * `backoffRatio` on a drop or on a call slower than `timeoutMs`.
 *
 * @throws {TypeError} on invalid options, naming the option and its range.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: aimdLimit({ minLimit: 5, initialLimit: 10, maxLimit: 100 }) });
 * ```
 */
export function aimdLimit(options?: AimdLimitOptions): ConcurrencyLimit {
  return new AimdLimit(parseOptions('aimdLimit', schema, options));
}
