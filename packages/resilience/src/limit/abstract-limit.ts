import type { ConcurrencyLimit } from './types.js';

/**
 * Shared plumbing of the limit algorithms (Netflix's `AbstractLimit`): holds
 * the integer limit, runs `update` on each sample and notifies listeners when
 * the limit changes.
 *
 * @internal not exported from the package.
 */
export abstract class AbstractLimit implements ConcurrencyLimit {
  #limit: number;
  #listeners: ReadonlyArray<(limit: number) => void> = [];

  protected constructor(initialLimit: number) {
    this.#limit = initialLimit;
  }

  get limit(): number {
    return this.#limit;
  }

  onSample(startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): void {
    this.#setLimit(this.update(startTimeMs, rttMs, inflight, didDrop));
  }

  onChange(listener: (limit: number) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('onChange: listener must be a function');
    // A fresh wrapper per registration, so that unsubscribing removes exactly this one.
    const entry = (limit: number) => listener(limit);
    this.#listeners = [...this.#listeners, entry];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== entry);
    };
  }

  /** Computes the next limit (a whole number) from one sample. */
  protected abstract update(startTimeMs: number, rttMs: number, inflight: number, didDrop: boolean): number;

  #setLimit(newLimit: number): void {
    if (newLimit === this.#limit) return;
    this.#limit = newLimit;
    // Every listener hears about the change even if an earlier one throws; the first error is rethrown after.
    let failed = false;
    let failure: unknown;
    for (const listener of this.#listeners) {
      try {
        listener(newLimit);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
    if (failed) throw failure;
  }
}
