import type { RecordableHistogram } from 'node:perf_hooks';
import { newMicrosecondHistogram, toMicroseconds } from '@backlot/metrics-core';

/** The percentiles Hystrix reports, as the keys of its `latencyExecute` object. */
export const LATENCY_PERCENTILES = ['0', '25', '50', '75', '90', '95', '99', '99.5', '99.9', '100'] as const;

/** Latency over the rolling window, in milliseconds. */
export interface LatencySnapshot {
  /** Number of samples in the window. */
  count: number;
  /** Mean latency (ms). */
  mean: number;
  /** Latency at each percentile (ms), keys as in {@link LATENCY_PERCENTILES}. */
  percentiles: Record<(typeof LATENCY_PERCENTILES)[number], number>;
}

/**
 * Latency distribution over a rolling window, in native HDR histograms (one per
 * bucket, allocated on first use and recycled): O(1) per sample, bounded
 * memory, percentiles without sorting samples.
 */
export class RollingLatency {
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #histograms: (RecordableHistogram | undefined)[];
  readonly #sums: Float64Array;
  readonly #epochs: Float64Array;

  constructor(windowMs: number, buckets: number) {
    this.#buckets = buckets;
    this.#bucketMs = windowMs / buckets;
    this.#histograms = new Array<RecordableHistogram | undefined>(buckets).fill(undefined);
    this.#sums = new Float64Array(buckets);
    this.#epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Records one latency of `ms` milliseconds observed at `now`. */
  record(ms: number, now: number): void {
    const epoch = Math.floor(now / this.#bucketMs);
    const slot = epoch % this.#buckets;
    let histogram = this.#histograms[slot];
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#sums[slot] = 0;
      if (histogram) histogram.reset();
    }
    if (!histogram) {
      histogram = newMicrosecondHistogram();
      this.#histograms[slot] = histogram;
    }
    histogram.record(toMicroseconds(ms));
    this.#sums[slot] = (this.#sums[slot] as number) + ms;
  }

  /** Adds this window's live buckets into `into`; returns the sum of their latencies (ms). */
  #addInto(into: RecordableHistogram, now: number): number {
    const oldest = Math.floor(now / this.#bucketMs) - this.#buckets + 1;
    let sum = 0;
    for (let slot = 0; slot < this.#buckets; slot++) {
      const histogram = this.#histograms[slot];
      if (histogram && (this.#epochs[slot] as number) >= oldest) {
        into.add(histogram);
        sum += this.#sums[slot] as number;
      }
    }
    return sum;
  }

  /** The latency (ms) at percentile `p` over the windows of `parts` together, and the sample count. */
  static valueAt(parts: readonly RollingLatency[], p: number, now: number): { ms: number; count: number } {
    const merged = newMicrosecondHistogram();
    for (const part of parts) part.#addInto(merged, now);
    const count = merged.count;
    return { ms: count === 0 ? 0 : merged.percentile(p) / 1000, count };
  }

  /** Percentiles and mean over the window at `now`. */
  snapshot(now: number): LatencySnapshot {
    return RollingLatency.snapshotOf([this], now);
  }

  /** Percentiles and mean over the windows of `parts` together (disjoint samples of one distribution). */
  static snapshotOf(parts: readonly RollingLatency[], now: number): LatencySnapshot {
    const merged = newMicrosecondHistogram();
    let sum = 0;
    for (const part of parts) sum += part.#addInto(merged, now);
    const count = merged.count;
    const percentiles = {} as LatencySnapshot['percentiles'];
    for (const key of LATENCY_PERCENTILES) {
      const p = Number(key);
      const us = count === 0 ? 0 : p === 0 ? merged.min : p === 100 ? merged.max : merged.percentile(p);
      percentiles[key] = us / 1000;
    }
    return { count, mean: count === 0 ? 0 : sum / count, percentiles };
  }
}
