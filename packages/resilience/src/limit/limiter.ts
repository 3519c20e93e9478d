import type { ConcurrencyLimit } from './types.js';

/**
 * One admitted call. Report how it ended with exactly one of the three
 * methods; later calls on the same token are no-ops.
 */
export interface LimiterToken {
  /** The call succeeded: its RTT is fed to the limit algorithm. */
  onSuccess(): void;
  /** The call was dropped (timed out, shed by the dependency…): the algorithm treats it as congestion. */
  onDropped(): void;
  /** The call ended in a way that says nothing about the dependency's load (e.g. a 4xx): no sample. */
  onIgnore(): void;
}

/** Options of {@link AdaptiveLimiter}. */
export interface AdaptiveLimiterOptions {
  /** The algorithm that sets the limit, e.g. `vegasLimit()`. */
  limit: ConcurrencyLimit;
  /** Clock in milliseconds used to time calls (default `performance.now`). Inject one in tests. */
  now?: (() => number) | undefined;
}

interface LimiterState {
  inflight: number;
  readonly algorithm: ConcurrencyLimit;
  readonly now: () => number;
}

class Token implements LimiterToken {
  #state: LimiterState | undefined;
  readonly #startTime: number;
  readonly #inflight: number;

  constructor(state: LimiterState, startTime: number, inflight: number) {
    this.#state = state;
    this.#startTime = startTime;
    this.#inflight = inflight;
  }

  onSuccess(): void {
    const state = this.#release();
    if (state) state.algorithm.onSample(this.#startTime, state.now() - this.#startTime, this.#inflight, false);
  }

  onDropped(): void {
    const state = this.#release();
    if (state) state.algorithm.onSample(this.#startTime, state.now() - this.#startTime, this.#inflight, true);
  }

  onIgnore(): void {
    this.#release();
  }

  #release(): LimiterState | undefined {
    const state = this.#state;
    if (state) {
      this.#state = undefined;
      state.inflight--;
    }
    return state;
  }
}

const defaultNow = () => performance.now();

/**
 * Admits calls while fewer than the current limit are in flight and rejects
 * the rest at once, with no queue (Netflix's `SimpleLimiter`). Each admitted
 * call's RTT, from `tryAcquire()` to the token's release, is fed to the limit
 * algorithm, which moves the limit.
 *
 * Cheap on the hot path: one small token object per admitted call, no timers,
 * no promises.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: gradient2Limit() });
 *
 * async function callRatings(id: string) {
 *   const token = limiter.tryAcquire();
 *   if (!token) throw new Error('ratings: concurrency limit reached'); // shed load, don't queue
 *   try {
 *     const res = await fetch(`http://127.0.0.1:8082/ratings/${id}`, { signal: AbortSignal.timeout(500) });
 *     if (res.status === 503) token.onDropped();
 *     else token.onSuccess();
 *     return res;
 *   } catch (error) {
 *     if (error instanceof DOMException && error.name === 'TimeoutError') token.onDropped();
 *     else token.onIgnore();
 *     throw error;
 *   }
 * }
 * ```
 */
export class AdaptiveLimiter {
  readonly #state: LimiterState;

  /**
   * @throws {TypeError} when `limit` is not a {@link ConcurrencyLimit} or `now` is not a function.
   */
  constructor(options: AdaptiveLimiterOptions) {
    const algorithm = (options as Partial<AdaptiveLimiterOptions> | undefined)?.limit;
    if (
      typeof algorithm !== 'object' ||
      algorithm === null ||
      typeof algorithm.onSample !== 'function' ||
      typeof algorithm.limit !== 'number'
    ) {
      throw new TypeError('AdaptiveLimiter: limit must be a ConcurrencyLimit, e.g. { limit: vegasLimit() }');
    }
    const now = options.now ?? defaultNow;
    if (typeof now !== 'function')
      throw new TypeError('AdaptiveLimiter: now must be a function returning milliseconds');
    this.#state = { inflight: 0, algorithm, now };
  }

  /** Calls admitted and not yet released. */
  get inflight(): number {
    return this.#state.inflight;
  }

  /** The current limit, from the algorithm. */
  get limit(): number {
    return this.#state.algorithm.limit;
  }

  /**
   * Admits one call if fewer than `limit` are in flight.
   *
   * @returns a token to release when the call ends, or `undefined` when the
   * limit is reached: reject the call right away.
   */
  tryAcquire(): LimiterToken | undefined {
    const state = this.#state;
    if (state.inflight >= state.algorithm.limit) return undefined;
    const inflight = ++state.inflight;
    return new Token(state, state.now(), inflight);
  }
}
