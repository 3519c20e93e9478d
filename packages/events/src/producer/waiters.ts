import { FlushTimeoutError } from '../errors.js';

/**
 * @internal Callers waiting for a condition on the producer's state (`ready()`,
 * `flush()`, `close()`): each is resolved by the first {@link settle} after its
 * condition holds. The producer calls `settle()` whenever its state moved on.
 */
export class Waiters {
  #waiting: { check: () => boolean; resolve: () => void }[] = [];

  /** Resolves once `check()` holds (at once if it does now). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ check, resolve }));
  }

  /**
   * Like {@link until}, rejecting with a {@link FlushTimeoutError} (naming `pending()`
   * events) after `timeoutMs`; no limit when it is undefined.
   */
  async untilWithin(check: () => boolean, timeoutMs: number | undefined, pending: () => number): Promise<void> {
    const reached = this.until(check);
    if (timeoutMs === undefined) return reached;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FlushTimeoutError(timeoutMs, pending())), timeoutMs);
    });
    try {
      await Promise.race([reached, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves every waiter whose condition holds now. */
  settle(): void {
    if (this.#waiting.length === 0) return;
    this.#waiting = this.#waiting.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves every waiter, whatever its condition (the producer closed). */
  releaseAll(): void {
    for (const waiter of this.#waiting.splice(0)) waiter.resolve();
  }
}
