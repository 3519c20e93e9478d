import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

// The SDK's one histogram (Node's native HdrHistogram); `@backlot/resilience`
// keeps the same one for commands and the gateway. Storage depends on no
// other Backlot package, so it holds its own small copy of the recorder.

const HIGHEST_TRACKABLE_US = 3_600_000_000;

/** Default Prometheus buckets of storage latency, in seconds (1 ms to 10 s). */
export const STORAGE_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Node's `cdf` (newer Node 24 releases; not yet in `@types/node`). */
type WithCdf = RecordableHistogram & { cdf?: (value: number) => number };

/** Samples at or below `value` (µs): `cdf` where Node has it, else a binary search over ranks. */
function countAtOrBelow(histogram: RecordableHistogram, value: number): number {
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

/** A cumulative latency distribution: one native record per sample; buckets read at scrape time. @internal */
export class LatencyRecorder {
  readonly #histogram = createHistogram({ lowest: 1, highest: HIGHEST_TRACKABLE_US, figures: 2 });
  #sumMs = 0;

  recordMs(ms: number): void {
    this.#histogram.record(Math.min(Math.max(1, Math.round(ms * 1000)), HIGHEST_TRACKABLE_US));
    this.#sumMs += ms;
  }

  /** Cumulative counts at each bound (seconds), with the sum (seconds) and count. */
  data(bounds: readonly number[] = STORAGE_LATENCY_BUCKETS): {
    buckets: [le: number, count: number][];
    sum: number;
    count: number;
  } {
    const h = this.#histogram;
    return {
      buckets: bounds.map((le) => [le, countAtOrBelow(h, le * 1_000_000)]),
      sum: this.#sumMs / 1000,
      count: h.count,
    };
  }
}
