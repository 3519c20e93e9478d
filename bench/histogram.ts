/**
 * `npm run bench -- histogram`: the latency histogram on the command hot path,
 * Node's `perf_hooks.createHistogram` (native HdrHistogram, what Backlot uses)
 * vs hdr-histogram-js (what `@backlot/resilience` used before), side by side.
 *
 * - record_ns: one `record` as a command makes it (milliseconds from
 *   `performance.now()` deltas, recorded as whole microseconds into a
 *   rolling bucket's histogram), per call.
 * - snapshot_us: one metrics snapshot of a command: merge the window's five
 *   bucket histograms and read ten percentiles (what `/metrics`, the Hystrix
 *   stream and hedging read).
 * - buckets_us: the cumulative counts of 13 Prometheus `le` buckets out of one
 *   histogram (perf_hooks: `cdf`; hdr-histogram-js: a binary search over
 *   ranks with `getValueAtPercentile`), what a scrape reads per series.
 * - footprint_kib: memory of one histogram (2 significant digits, 1 µs to 1 h, as commands keep them).
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { type Figures, runBench } from './lib/harness.ts';

const RECORDS = 2_000_000;
const SNAPSHOTS = 2000;
const HIGHEST_US = 3_600_000_000;
const PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];
const LE_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram implementation under test. */
interface Impl<H> {
  create(): H;
  record(histogram: H, us: number): void;
  merge(into: H, from: H): void;
  percentile(histogram: H, p: number): number;
  countAtOrBelow(histogram: H, us: number): number;
  reset(histogram: H): void;
  bytes(histogram: H): number;
}

const native: Impl<RecordableHistogram> = {
  create: () => createHistogram({ lowest: 1, highest: HIGHEST_US, figures: 2 }),
  record: (h, us) => h.record(us),
  merge: (into, from) => into.add(from),
  percentile: (h, p) => h.percentile(p === 0 ? 0.0001 : p),
  countAtOrBelow: (h, us) => Math.round((h as unknown as { cdf(v: number): number }).cdf(us) * h.count),
  reset: (h) => h.reset(),
  // HdrHistogram C: counts array of 2^(log2(10^3 * 2)+1) sub-buckets per bucket, 8 bytes each.
  bytes: () => 0,
};

const hdrJs: Impl<hdr.Histogram> = {
  create: () =>
    hdr.build({
      bitBucketSize: 32,
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 2,
      autoResize: false,
      useWebAssembly: false,
    }),
  record: (h, us) => h.recordValue(us),
  merge: (into, from) => into.add(from),
  percentile: (h, p) => h.getValueAtPercentile(p),
  countAtOrBelow: (h, us) => {
    // hdr-histogram-js has no count-below-value: binary search over the ranks.
    let low = 0;
    let high = h.totalCount;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (h.getValueAtPercentile((mid / h.totalCount) * 100) <= us) low = mid;
      else high = mid - 1;
    }
    return low;
  },
  reset: (h) => h.reset(),
  bytes: (h) => h.estimatedFootprintInBytes,
};

let sink = 0;

function subject<H>(impl: Impl<H>): () => Promise<Figures> {
  return async () => {
    // Five rolling buckets, as a command keeps them; a fake clock moves through them.
    const buckets = Array.from({ length: 5 }, () => impl.create());
    let slot = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < RECORDS; i++) {
      if ((i & 0x3ffff) === 0) {
        slot = (slot + 1) % buckets.length;
        impl.reset(buckets[slot] as H);
      }
      const ms = 0.05 + ((i * 7919) % 100_000) / 1000;
      impl.record(buckets[slot] as H, Math.min(Math.max(1, Math.round(ms * 1000)), HIGHEST_US));
    }
    const recordNs = Number(process.hrtime.bigint() - start) / RECORDS;

    const snapStart = process.hrtime.bigint();
    const merged = impl.create();
    for (let s = 0; s < SNAPSHOTS; s++) {
      impl.reset(merged);
      for (const bucket of buckets) impl.merge(merged, bucket);
      for (const p of PERCENTILES) sink += impl.percentile(merged, p);
    }
    const snapshotUs = Number(process.hrtime.bigint() - snapStart) / SNAPSHOTS / 1000;

    const bucketStart = process.hrtime.bigint();
    const scrapes = 200;
    for (let s = 0; s < scrapes; s++) {
      for (const le of LE_SECONDS) sink += impl.countAtOrBelow(buckets[0] as H, le * 1_000_000);
    }
    const bucketsUs = Number(process.hrtime.bigint() - bucketStart) / scrapes / 1000;

    return {
      record_ns: recordNs,
      snapshot_us: snapshotUs,
      buckets_us: bucketsUs,
      footprint_kib: impl.bytes(buckets[0] as H) / 1024,
    };
  };
}

export default async function run() {
  const result = await runBench({
    name: 'histogram',
    unit: {
      record_ns: 'ns per recorded latency (lower is better)',
      snapshot_us: 'µs per snapshot: merge 5 buckets, read 10 percentiles (lower is better)',
      buckets_us: 'µs per series for 13 Prometheus buckets (lower is better)',
      footprint_kib: 'KiB of JS heap per histogram (perf_hooks: held natively, not on the heap)',
    },
    subjects: {
      perf_hooks: subject(native),
      'hdr-histogram-js': subject(hdrJs),
    },
    reference: 'hdr-histogram-js',
    rounds: 5,
    warmup: 1,
  });
  if (sink === 0) throw new Error('nothing was measured');
  return result;
}
