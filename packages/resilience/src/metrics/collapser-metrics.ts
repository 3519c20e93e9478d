import { type LatencySnapshot, RollingLatency } from './rolling-latency.js';

/** A collapser's metrics at one moment, over its rolling window (Hystrix's `HystrixCollapserMetrics`). */
export interface CollapserMetricsSnapshot {
  /** The collapser's name (Hystrix's collapser key). */
  name: string;
  /** Rolling window length (ms). */
  windowMs: number;
  /** Calls made through the collapser in the window (Hystrix's `COLLAPSER_REQUEST_BATCHED`). */
  requestsBatched: number;
  /** Batches sent in the window (Hystrix's `COLLAPSER_BATCH`). */
  batches: number;
  /** Calls answered by another call's entry of the same batch: duplicate keys, sent once. */
  responsesFromCache: number;
  /** Distinct keys per batch over the window: `count` batches, `mean` and percentiles in keys. */
  batchSize: LatencySnapshot;
  /** Cumulative counts since the collapser was defined. */
  cumulative: { requestsBatched: number; batches: number; responsesFromCache: number };
  /** Settings, as the Hystrix stream reports them. */
  settings: { maxBatchSize: number; delayMs: number; scope: 'request' | 'global' };
}

const WINDOW_MS = 10_000;
const BUCKETS = 10;

/**
 * The counters of one collapser: calls, batches and duplicates over a rolling
 * window of 10 buckets of 1 s (Hystrix's default), and the distribution of
 * batch sizes (an HDR histogram per bucket, as for latencies). O(1) per event.
 * @internal
 */
export class CollapserMetrics {
  readonly name: string;
  readonly settings: CollapserMetricsSnapshot['settings'];
  readonly #now: () => number;
  readonly #counts = new Float64Array(BUCKETS * 3);
  readonly #epochs = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #cumulative = new Float64Array(3);
  readonly #sizes = new RollingLatency(WINDOW_MS, BUCKETS);

  constructor(name: string, settings: CollapserMetricsSnapshot['settings'], now: () => number) {
    this.name = name;
    this.settings = settings;
    this.#now = now;
  }

  #add(event: 0 | 1 | 2, now: number): void {
    const epoch = Math.floor(now / (WINDOW_MS / BUCKETS));
    const slot = epoch % BUCKETS;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#counts.fill(0, slot * 3, slot * 3 + 3);
    }
    this.#counts[slot * 3 + event] = (this.#counts[slot * 3 + event] as number) + 1;
    this.#cumulative[event] = (this.#cumulative[event] as number) + 1;
  }

  /** One call joined a batch; `duplicate` when its key was already in it. */
  call(duplicate: boolean): void {
    const now = this.#now();
    this.#add(0, now);
    if (duplicate) this.#add(2, now);
  }

  /** One batch of `size` distinct keys was sent. */
  batch(size: number): void {
    const now = this.#now();
    this.#add(1, now);
    this.#sizes.record(size, now);
  }

  #sum(event: 0 | 1 | 2, now: number): number {
    const oldest = Math.floor(now / (WINDOW_MS / BUCKETS)) - BUCKETS + 1;
    let sum = 0;
    for (let slot = 0; slot < BUCKETS; slot++) {
      if ((this.#epochs[slot] as number) >= oldest) sum += this.#counts[slot * 3 + event] as number;
    }
    return sum;
  }

  /** Metrics over the window now. */
  snapshot(): CollapserMetricsSnapshot {
    const now = this.#now();
    return {
      name: this.name,
      windowMs: WINDOW_MS,
      requestsBatched: this.#sum(0, now),
      batches: this.#sum(1, now),
      responsesFromCache: this.#sum(2, now),
      batchSize: this.#sizes.snapshot(now),
      cumulative: {
        requestsBatched: this.#cumulative[0] as number,
        batches: this.#cumulative[1] as number,
        responsesFromCache: this.#cumulative[2] as number,
      },
      settings: this.settings,
    };
  }
}
