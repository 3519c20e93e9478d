import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Highest latency a histogram tracks: one hour, in microseconds (longer samples count as one hour). */
const HIGHEST_TRACKABLE_US = 3_600_000_000;

/**
 * A new latency histogram in microseconds: Node's native HdrHistogram
 * (`perf_hooks.createHistogram`), 2 significant digits (≤ 1 % error), 1 µs to
 * 1 h. The one histogram implementation of the SDK: {@link LatencyHistogram}
 * and `@backlot/resilience`'s rolling windows are built on it.
 */
export function newMicrosecondHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: HIGHEST_TRACKABLE_US, figures: 2 });
}

/** `ms` as whole microseconds within the histogram's range (negative and NaN count as 1 µs). */
export function toMicroseconds(ms: number): number {
  const us = Math.round(ms * 1000);
  return us >= 1 ? Math.min(us, HIGHEST_TRACKABLE_US) : 1;
}

/** Default Prometheus buckets of latency histograms, in seconds (1 ms to 10 s). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** A histogram as Prometheus exposes it: cumulative bucket counts, sum and count. */
export interface HistogramData {
  /** Upper bounds (`le`, seconds) and the number of samples at or below each; `+Inf` is `count`. */
  buckets: ReadonlyArray<readonly [le: number, count: number]>;
  /** Sum of every sample, in seconds. */
  sum: number;
  /** Number of samples. */
  count: number;
}

/**
 * A latency distribution: one native record per sample on the hot path;
 * Prometheus buckets, percentiles and the sum are only computed when read (at
 * scrape time). Cumulative since creation, or since the last {@link reset}.
 * Buckets are exact to the histogram's precision (2 significant digits): a
 * sample within 1 % of a bucket bound may count in the neighbouring bucket.
 *
 * @example
 * ```ts
 * import { LatencyHistogram } from '@backlot/metrics-core';
 *
 * const latency = new LatencyHistogram();
 * latency.recordMs(12.5);
 * latency.recordSeconds(0.3);
 * console.log(latency.percentileMs(99), latency.data().buckets);
 * ```
 */
export class LatencyHistogram {
  // Allocated on the first sample (~26 KiB of native memory): an idle command or route holds none.
  #histogram: RecordableHistogram | undefined;
  #sumMs = 0;

  /**
   * Records one latency of `ms` milliseconds, to the microsecond: a negative
   * or NaN latency counts as 1 µs, one above an hour as an hour (in the
   * buckets and the sum alike, so the sum stays finite).
   */
  recordMs(ms: number): void {
    const us = toMicroseconds(ms);
    this.#histogram ??= newMicrosecondHistogram();
    this.#histogram.record(us);
    this.#sumMs += us / 1000;
  }

  /** Records one latency of `seconds` seconds. */
  recordSeconds(seconds: number): void {
    this.recordMs(seconds * 1000);
  }

  /** Number of samples. */
  get count(): number {
    return this.#histogram?.count ?? 0;
  }

  /** Sum of the samples, in milliseconds. */
  get sumMs(): number {
    return this.#sumMs;
  }

  /** The latency (ms) at percentile `p` (0–100), 0 without samples. */
  percentileMs(p: number): number {
    const h = this.#histogram;
    return h === undefined || h.count === 0 ? 0 : h.percentile(Math.min(Math.max(p, 1e-9), 100)) / 1000;
  }

  /** Cumulative counts at each of `bounds` (seconds, ascending), with the sum (seconds) and count. */
  data(bounds: readonly number[] = LATENCY_BUCKETS_SECONDS): HistogramData {
    const h = this.#histogram;
    const buckets = bounds.map((le) => [le, h === undefined ? 0 : countAtOrBelow(h, le * 1_000_000)] as const);
    return { buckets, sum: this.#sumMs / 1000, count: h?.count ?? 0 };
  }

  /** Forgets every sample (keeps the native histogram for reuse). */
  reset(): void {
    this.#histogram?.reset();
    this.#sumMs = 0;
  }
}

/** Node's `cdf` (newer Node 24 releases; not yet in `@types/node`). */
type WithCdf = RecordableHistogram & { cdf?: (value: number) => number };

/**
 * Samples at or below `value` (µs): `histogram.cdf` where Node has it, else a
 * binary search over ranks with `percentile` (about 30 native calls).
 */
export function countAtOrBelow(histogram: RecordableHistogram, value: number): number {
  const count = histogram.count;
  if (count === 0) return 0;
  const cdf = (histogram as WithCdf).cdf;
  if (typeof cdf === 'function') return Math.round(cdf.call(histogram, value) * count);
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (histogram.percentile((mid / count) * 100) <= value) low = mid;
    else high = mid - 1;
  }
  return low;
}
