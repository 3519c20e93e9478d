import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countAtOrBelow, LATENCY_BUCKETS_SECONDS, LatencyHistogram, newMicrosecondHistogram } from '../src/index.js';

describe('LatencyHistogram', () => {
  it('counts samples at or below each bound, within its precision', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [0.5, 0.9, 3, 20, 20, 400, 7000, 20_000]) histogram.recordMs(ms);
    const data = histogram.data([0.001, 0.005, 0.1, 1, 10]);
    expect(data.buckets).toEqual([
      [0.001, 2],
      [0.005, 3],
      [0.1, 5],
      [1, 6],
      [10, 7],
    ]);
    expect(data.count).toBe(8);
    expect(data.sum).toBeCloseTo(27.4444, 4);
    expect(histogram.sumMs).toBeCloseTo(27_444.4, 1);
    expect(histogram.percentileMs(50)).toBeCloseTo(20, 0);
  });

  it('holds no native histogram and reads as empty before the first sample', () => {
    const empty = new LatencyHistogram();
    expect(empty.count).toBe(0);
    expect(empty.percentileMs(99)).toBe(0);
    expect(empty.data()).toEqual({ buckets: LATENCY_BUCKETS_SECONDS.map((le) => [le, 0]), sum: 0, count: 0 });
  });

  it('records seconds as milliseconds, and forgets everything on reset()', () => {
    const histogram = new LatencyHistogram();
    histogram.recordSeconds(0.25);
    expect(histogram.percentileMs(100)).toBeCloseTo(250, -1);
    histogram.reset();
    expect(histogram.count).toBe(0);
    expect(histogram.sumMs).toBe(0);
    expect(histogram.percentileMs(50)).toBe(0);
    histogram.recordMs(3);
    expect(histogram.count).toBe(1);
  });

  it('takes hostile latencies (negative, NaN, infinite, beyond an hour) without throwing or poisoning the sum', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [-5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 10 * 3_600_000, 0]) {
      histogram.recordMs(ms);
    }
    expect(histogram.count).toBe(6);
    // Clamped in the sum as in the buckets: 1 µs for each of the four below zero or NaN, an hour for the two above.
    expect(histogram.sumMs).toBeCloseTo(4 * 0.001 + 2 * 3_600_000, 3);
    // Longer than the histogram's hour counts as an hour: above every default bucket, still in +Inf (the count).
    expect(histogram.data().buckets.at(-1)?.[1]).toBe(4);
  });

  it('agrees with an exact count at every bound, to within 1 % of the bound (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (samples) => {
          const histogram = new LatencyHistogram();
          for (const ms of samples) histogram.recordMs(ms);
          const { buckets, count, sum } = histogram.data();
          expect(count).toBe(samples.length);
          // The sum is of the samples to the microsecond.
          expect(Math.abs(sum - samples.reduce((a, b) => a + b, 0) / 1000)).toBeLessThanOrEqual(samples.length * 5e-7);
          let previous = 0;
          for (const [le, n] of buckets) {
            // Cumulative: never decreasing, never above the count.
            expect(n).toBeGreaterThanOrEqual(previous);
            expect(n).toBeLessThanOrEqual(count);
            previous = n;
            const below = samples.filter((ms) => ms <= le * 1000 * 0.99).length;
            const within = samples.filter((ms) => ms <= le * 1000 * 1.01).length;
            expect(n).toBeGreaterThanOrEqual(below);
            expect(n).toBeLessThanOrEqual(within);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('countAtOrBelow', () => {
  it('gives the same counts by binary search over ranks as with cdf (Node releases without cdf)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50_000_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 60_000_000 }),
        (samples, value) => {
          const histogram = newMicrosecondHistogram();
          for (const us of samples) histogram.record(us);
          const withoutCdf = Object.create(histogram, { cdf: { value: undefined } }) as typeof histogram;
          const searched = countAtOrBelow(withoutCdf, value);
          const exactBelow = samples.filter((us) => us <= value * 0.99).length;
          const exactWithin = samples.filter((us) => us <= value * 1.01).length;
          expect(searched).toBeGreaterThanOrEqual(exactBelow);
          expect(searched).toBeLessThanOrEqual(exactWithin);
          expect(Math.abs(searched - countAtOrBelow(histogram, value))).toBeLessThanOrEqual(exactWithin - exactBelow);
        },
      ),
      { numRuns: 100 },
    );
  });
});
