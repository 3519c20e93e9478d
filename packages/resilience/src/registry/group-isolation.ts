import { Bulkhead, type BulkheadOptions } from '../bulkhead/bulkhead.js';
import { RollingCounts } from '../metrics/rolling-counts.js';
import type { GroupMetricsSnapshot } from '../metrics/snapshot.js';

/** A held slot: release it once, saying how the work ended (adaptive limits learn from it). */
export interface Permit {
  /** The work succeeded; its latency is a sample of the dependency's health. */
  onSuccess(): void;
  /** The work timed out or was shed: a sign of overload. */
  onDropped(): void;
  /** The work ended in a way that says nothing about load (bad request, caller gave up). */
  onIgnore(): void;
}

/** The slot source of a group: a fixed bulkhead or an adaptive concurrency limiter. */
export interface AdaptiveLimiterLike {
  tryAcquire(): Permit | undefined;
  readonly inflight: number;
  readonly limit: number;
}

/**
 * The isolation of one group: every command of the group takes its slots
 * here, so a slow dependency can hold at most this many calls.
 * @internal
 */
export class GroupIsolation {
  readonly group: string;
  readonly bulkhead: Bulkhead | undefined;
  readonly limiter: AdaptiveLimiterLike | undefined;
  readonly settings: BulkheadOptions | AdaptiveLimiterLike;
  readonly #rolling: RollingCounts;
  readonly #now: () => number;
  readonly #bulkheadPermit: Permit | undefined;
  #largestActive = 0;
  #completed = 0;
  #rejected = 0;

  constructor(
    group: string,
    isolation: { bulkhead: BulkheadOptions } | { limiter: AdaptiveLimiterLike },
    window: { windowMs: number; buckets: number },
    now: () => number,
  ) {
    this.group = group;
    this.#now = now;
    this.#rolling = new RollingCounts(window.windowMs, window.buckets, now);
    if ('limiter' in isolation) {
      this.limiter = isolation.limiter;
      this.bulkhead = undefined;
      this.settings = isolation.limiter;
      this.#bulkheadPermit = undefined;
    } else {
      const bulkhead = new Bulkhead(isolation.bulkhead);
      this.bulkhead = bulkhead;
      this.limiter = undefined;
      this.settings = isolation.bulkhead;
      const release = () => {
        this.#completed++;
        bulkhead.release();
      };
      // One shared permit: a bulkhead slot carries no per-call state.
      this.#bulkheadPermit = { onSuccess: release, onDropped: release, onIgnore: release };
    }
  }

  /** Whether calls may wait for a slot (a bulkhead with a queue). */
  get canQueue(): boolean {
    return (this.bulkhead?.maxQueue ?? 0) > 0;
  }

  #admitted(now: number): void {
    this.#rolling.add('success', now);
    const active = this.bulkhead ? this.bulkhead.active : (this.limiter as AdaptiveLimiterLike).inflight;
    if (active > this.#largestActive) this.#largestActive = active;
    this.#rolling.observeConcurrency(active, now);
  }

  /** Takes a slot now (`at`: the caller's clock reading, to save one), or `undefined` when full. */
  tryAcquire(at: number = this.#now()): Permit | undefined {
    let permit: Permit | undefined;
    if (this.bulkhead) permit = this.bulkhead.tryAcquire() ? this.#bulkheadPermit : undefined;
    else {
      const token = (this.limiter as AdaptiveLimiterLike).tryAcquire();
      permit = token && this.#wrapLimiterPermit(token);
    }
    if (permit) this.#admitted(at);
    return permit;
  }

  #wrapLimiterPermit(token: Permit): Permit {
    const done = () => {
      this.#completed++;
    };
    return {
      onSuccess: () => {
        done();
        token.onSuccess();
      },
      onDropped: () => {
        done();
        token.onDropped();
      },
      onIgnore: () => {
        done();
        token.onIgnore();
      },
    };
  }

  /** Waits for a slot in the bulkhead's queue; `undefined` when the queue is full. */
  async acquire(signal: AbortSignal | undefined): Promise<Permit | undefined> {
    if (!this.bulkhead) return this.tryAcquire();
    const ok = await this.bulkhead.acquire(signal);
    if (!ok) return undefined;
    this.#admitted(this.#now());
    return this.#bulkheadPermit;
  }

  /** Counts a call turned away. */
  countRejection(): void {
    this.#rejected++;
    this.#rolling.add('rejected');
  }

  /** Metrics of the group now. */
  snapshot(): GroupMetricsSnapshot {
    const now = this.#now();
    const bulkhead = this.bulkhead;
    return {
      group: this.group,
      kind: bulkhead ? 'bulkhead' : 'adaptive',
      limit: bulkhead ? bulkhead.maxConcurrent : Math.round((this.limiter as AdaptiveLimiterLike).limit),
      active: bulkhead ? bulkhead.active : (this.limiter as AdaptiveLimiterLike).inflight,
      queued: bulkhead ? bulkhead.queued : 0,
      maxQueue: bulkhead ? bulkhead.maxQueue : 0,
      largestActive: this.#largestActive,
      completed: this.#completed,
      rejected: this.#rejected,
      rollingExecuted: this.#rolling.count('success', now),
      rollingRejected: this.#rolling.count('rejected', now),
      rollingMaxActive: this.#rolling.maxConcurrency(now),
      windowMs: this.#rolling.windowMs,
    };
  }
}
