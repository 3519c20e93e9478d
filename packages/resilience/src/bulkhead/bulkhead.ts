import { z } from 'zod';

/** Options of {@link Bulkhead}. */
export interface BulkheadOptions {
  /** Calls that may run at once (Hystrix's semaphore default: 10). */
  maxConcurrent?: number | undefined;
  /** Calls that may wait for a slot; beyond it, calls are rejected at once (default 0: no queue). */
  maxQueue?: number | undefined;
}

const optionsSchema = z.object({
  maxConcurrent: z
    .number()
    .int()
    .min(1, 'maxConcurrent must be at least 1')
    .max(1_000_000, 'maxConcurrent must be at most 1000000')
    .optional(),
  maxQueue: z
    .number()
    .int()
    .min(0, 'maxQueue must be 0 (no queue) or more')
    .max(1_000_000, 'maxQueue must be at most 1000000')
    .optional(),
});

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Limits how many calls run at once, with a bounded FIFO queue in front
 * (Hystrix's thread-pool isolation, the Node way). A slot is held until the
 * work really settles — a timed-out call that keeps running keeps its slot —
 * so the limit bounds the real load on the dependency.
 *
 * @example
 * ```ts
 * const bulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 20 });
 * if (bulkhead.tryAcquire() || (await bulkhead.acquire())) {
 *   try { await work(); } finally { bulkhead.release(); }
 * }
 * ```
 */
export class Bulkhead {
  /** Calls that may run at once. */
  readonly maxConcurrent: number;
  /** Calls that may wait for a slot. */
  readonly maxQueue: number;
  #active = 0;
  #largestActive = 0;
  #completed = 0;
  #rejected = 0;
  #queue: Waiter[] = [];
  #queueHead = 0;

  /** @throws {TypeError} naming the bad option. */
  constructor(options: BulkheadOptions = {}) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new TypeError(`bulkhead: ${z.prettifyError(parsed.error)}`);
    this.maxConcurrent = parsed.data.maxConcurrent ?? 10;
    this.maxQueue = parsed.data.maxQueue ?? 0;
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** The most calls that ever ran at once. */
  get largestActive(): number {
    return this.#largestActive;
  }

  /** Calls that ran and released their slot. */
  get completed(): number {
    return this.#completed;
  }

  /** Calls turned away because the bulkhead and its queue were full. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Takes a slot if one is free now, without queueing. */
  tryAcquire(): boolean {
    if (this.#active < this.maxConcurrent && this.queued === 0) {
      this.#take();
      return true;
    }
    return false;
  }

  #take(): void {
    this.#active++;
    if (this.#active > this.#largestActive) this.#largestActive = this.#active;
  }

  /**
   * Takes a slot, waiting in the queue if needed. Resolves `true` with the
   * slot held; resolves `false` at once when the queue is full too (counted
   * as a rejection). Rejects with the signal's reason if it aborts while
   * waiting (the place in the queue is given up).
   */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.queued >= this.maxQueue) {
      this.#rejected++;
      return Promise.resolve(false);
    }
    signal?.throwIfAborted();
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = { resolve: () => resolve(true), reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          this.#remove(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
    });
  }

  /** Counts a rejection decided by the caller (e.g. `tryAcquire` failed and no queueing is wanted). */
  countRejection(): void {
    this.#rejected++;
  }

  /** Gives a slot back; the oldest waiter, if any, gets it. */
  release(): void {
    this.#completed++;
    const next = this.#shift();
    if (next) {
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(); // the slot passes to the waiter: active stays the same
      return;
    }
    this.#active--;
  }

  #shift(): Waiter | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const waiter = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = undefined as unknown as Waiter;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    } else if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
    return waiter;
  }

  #remove(waiter: Waiter): void {
    const index = this.#queue.indexOf(waiter, this.#queueHead);
    if (index !== -1) this.#queue.splice(index, 1);
  }
}
