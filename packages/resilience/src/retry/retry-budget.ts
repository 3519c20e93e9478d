import { z } from 'zod';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per call made, over the window (default 0.2: at most one retry per five calls). */
  ratio?: number | undefined;
  /** Retries always allowed per second, so that low traffic can still retry (default 10). */
  minRetriesPerSecond?: number | undefined;
  /** The window over which calls and retries are counted (default 10 000 ms). */
  windowMs?: number | undefined;
}

/** @internal */
export const retryBudgetSchema = z.object({
  ratio: z
    .number()
    .min(0, 'retry.budget.ratio must be between 0 and 1')
    .max(1, 'retry.budget.ratio must be between 0 and 1')
    .optional(),
  minRetriesPerSecond: z.number().min(0, 'retry.budget.minRetriesPerSecond must be 0 or more').optional(),
  windowMs: z.number().int().min(1000, 'retry.budget.windowMs must be at least 1000').optional(),
});

const BUCKETS = 10;

/**
 * A retry budget (Finagle, Envoy): retries may add at most `ratio` of the
 * calls made in the window, plus a small floor per second, so that during an
 * outage retries cannot multiply the load on a dependency that is already
 * failing. O(1) per call, no timers.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
  readonly #bucketMs: number;
  readonly #calls = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  readonly #epochs = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #now: () => number;

  /** @throws {TypeError} naming the bad option. */
  constructor(options: RetryBudgetOptions = {}, now: () => number = performance.now.bind(performance)) {
    const parsed = retryBudgetSchema.safeParse(options);
    if (!parsed.success) throw new TypeError(`retry budget: ${z.prettifyError(parsed.error)}`);
    this.ratio = parsed.data.ratio ?? 0.2;
    this.minRetriesPerSecond = parsed.data.minRetriesPerSecond ?? 10;
    this.windowMs = parsed.data.windowMs ?? 10_000;
    this.#bucketMs = this.windowMs / BUCKETS;
    this.#now = now;
  }

  #slot(now: number): number {
    const epoch = Math.floor(now / this.#bucketMs);
    const slot = epoch % BUCKETS;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#calls[slot] = 0;
      this.#retries[slot] = 0;
    }
    return slot;
  }

  #sum(values: Float64Array, now: number): number {
    const oldest = Math.floor(now / this.#bucketMs) - BUCKETS + 1;
    let sum = 0;
    for (let slot = 0; slot < BUCKETS; slot++)
      if ((this.#epochs[slot] as number) >= oldest) sum += values[slot] as number;
    return sum;
  }

  /** Counts one call (a first attempt). */
  recordCall(): void {
    const slot = this.#slot(this.#now());
    this.#calls[slot] = (this.#calls[slot] as number) + 1;
  }

  /** Takes one retry from the budget if there is one left; `false` means: do not retry. */
  tryWithdraw(): boolean {
    const now = this.#now();
    const slot = this.#slot(now);
    const allowed = this.ratio * this.#sum(this.#calls, now) + this.minRetriesPerSecond * (this.windowMs / 1000);
    if (this.#sum(this.#retries, now) + 1 > allowed) return false;
    this.#retries[slot] = (this.#retries[slot] as number) + 1;
    return true;
  }
}
