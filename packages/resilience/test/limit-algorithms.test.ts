import { describe, expect, it, vi } from 'vitest';
import { aimdLimit, type ConcurrencyLimit, gradient2Limit, vegasLimit, windowedLimit } from '../src/limit/index.js';

/** Feeds `n` samples; `inflight` defaults to the current limit (the limiter is saturated). */
function feed(limit: ConcurrencyLimit, n: number, rttMs: number, { didDrop = false, inflight = -1 } = {}) {
  for (let i = 0; i < n; i++) limit.onSample(0, rttMs, inflight < 0 ? limit.limit : inflight, didDrop);
}

describe('aimdLimit', () => {
  it("starts at Netflix's defaults and grows by one per sample while half the limit is in use", () => {
    const limit = aimdLimit();
    expect(limit.limit).toBe(20);
    feed(limit, 1, 10);
    expect(limit.limit).toBe(21);
    feed(limit, 9, 10);
    expect(limit.limit).toBe(30);
  });

  it('does not grow while less than half the limit is in flight', () => {
    const limit = aimdLimit();
    feed(limit, 50, 10, { inflight: 9 });
    expect(limit.limit).toBe(20);
  });

  it('backs off by backoffRatio on a drop and on a call slower than timeoutMs', () => {
    const limit = aimdLimit({ initialLimit: 100 });
    feed(limit, 1, 10, { didDrop: true });
    expect(limit.limit).toBe(90);
    feed(limit, 1, 5001);
    expect(limit.limit).toBe(81);
    const custom = aimdLimit({ initialLimit: 100, backoffRatio: 0.5, timeoutMs: 100 });
    feed(custom, 1, 101);
    expect(custom.limit).toBe(50);
  });

  it('stays within [minLimit, maxLimit]', () => {
    const limit = aimdLimit({ minLimit: 5, initialLimit: 10, maxLimit: 12 });
    feed(limit, 100, 10);
    expect(limit.limit).toBe(12);
    feed(limit, 100, 10, { didDrop: true });
    expect(limit.limit).toBe(5);
  });
});

describe('vegasLimit', () => {
  it('grows fast while the RTT stays at its no-load value', () => {
    const limit = vegasLimit();
    feed(limit, 1, 10); // first sample: records rtt_noload
    feed(limit, 5, 10);
    // queue = 0 ≤ threshold: +beta (6 × log10) per sample
    expect(limit.limit).toBe(20 + 5 * 6);
  });

  it('shrinks when the RTT rises (queueing) and on drops', () => {
    const limit = vegasLimit({ initialLimit: 100 });
    feed(limit, 1, 10);
    feed(limit, 1, 20); // queue = ceil(100 × (1 − 10/20)) = 50 > beta (12): decrease by log10(100) = 2
    expect(limit.limit).toBe(98);
    feed(limit, 1, 10, { didDrop: true }); // decrease by log10(98) = 1
    expect(limit.limit).toBe(97);
  });

  it('holds the limit when the queue is between alpha and beta, and when far below the limit', () => {
    const limit = vegasLimit({ initialLimit: 100 });
    feed(limit, 1, 10);
    feed(limit, 1, 10 / (1 - 0.08)); // queue = 8: alpha (6) ≤ 8 ≤ beta (12)
    expect(limit.limit).toBe(100);
    feed(limit, 10, 10, { inflight: 49 }); // inflight × 2 < limit: app-limited
    expect(limit.limit).toBe(100);
  });

  it('never exceeds maxConcurrency nor goes below 1', () => {
    const limit = vegasLimit({ initialLimit: 5, maxConcurrency: 40 });
    feed(limit, 1, 10);
    feed(limit, 100, 10);
    expect(limit.limit).toBe(40);
    feed(limit, 500, 10, { didDrop: true });
    expect(limit.limit).toBe(1);
  });

  it('probes for a new no-load RTT every probeMultiplier × limit samples (with jitter)', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // jitter 0.5
    try {
      const limit = vegasLimit({ initialLimit: 10, maxConcurrency: 20, probeMultiplier: 2 });
      feed(limit, 1, 10); // sample 1: rtt_noload = 10
      // Samples 2–5 at 100 ms: queue = ceil(limit × 0.9) > beta (6), so the limit shrinks by 1 each time.
      feed(limit, 4, 100);
      expect(limit.limit).toBe(6);
      // Sample 6: 0.5 (jitter) × 2 × 6 ≤ 6 samples, so this one is a probe: rtt_noload = 100, limit unchanged.
      feed(limit, 1, 100);
      expect(limit.limit).toBe(6);
      // Against the new rtt_noload there is no queue: aggressive increase by beta (6).
      feed(limit, 1, 100);
      expect(limit.limit).toBe(12);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('accepts fixed alpha/beta/threshold and custom increase/decrease functions', () => {
    const limit = vegasLimit({ initialLimit: 50, alpha: 1, beta: 2, threshold: 0, decrease: (l) => l / 2 });
    feed(limit, 1, 10);
    feed(limit, 1, 12); // queue = ceil(50 × (1 − 10/12)) = 9 > beta (2)
    expect(limit.limit).toBe(25);
  });

  it('ignores sub-resolution (0 ms) RTTs instead of throwing', () => {
    const limit = vegasLimit();
    expect(() => feed(limit, 10, 0)).not.toThrow();
    expect(limit.limit).toBe(20);
  });
});

describe('gradient2Limit', () => {
  it('grows by smoothing × queueSize per sample while the RTT holds', () => {
    const limit = gradient2Limit();
    feed(limit, 10, 10);
    // each sample: limit × 0.8 + (limit + 4) × 0.2 = limit + 0.8
    expect(limit.limit).toBe(28);
  });

  it('shrinks when the RTT rises above rttTolerance × the long-term RTT', () => {
    const limit = gradient2Limit({ initialLimit: 100 });
    feed(limit, 20, 10);
    const before = limit.limit;
    feed(limit, 10, 60); // gradient = max(0.5, 1.5 × long / 60) ≈ 0.5
    expect(limit.limit).toBeLessThan(before * 0.75);
  });

  it('tolerates an RTT up to rttTolerance × the long-term RTT without shrinking', () => {
    const limit = gradient2Limit({ initialLimit: 100 });
    feed(limit, 20, 10);
    const before = limit.limit;
    feed(limit, 5, 14);
    expect(limit.limit).toBeGreaterThan(before);
  });

  it('does not grow while less than half the limit is in flight', () => {
    const limit = gradient2Limit({ initialLimit: 100 });
    feed(limit, 50, 10, { inflight: 49 });
    expect(limit.limit).toBe(100);
  });

  it('stays within [minLimit, maxConcurrency]', () => {
    const limit = gradient2Limit({ minLimit: 10, initialLimit: 30, maxConcurrency: 40 });
    feed(limit, 200, 10);
    expect(limit.limit).toBe(40);
    for (let rtt = 20; rtt < 20_000; rtt *= 1.5) feed(limit, 5, rtt);
    expect(limit.limit).toBe(10);
  });

  it('accepts queueSize as a function of the limit', () => {
    const limit = gradient2Limit({ queueSize: (l) => l, smoothing: 1 });
    feed(limit, 1, 10);
    expect(limit.limit).toBe(40);
  });
});

describe('windowedLimit', () => {
  it('hands the delegate one sample per window: average RTT, max inflight, any drop', () => {
    const samples: [number, number, boolean][] = [];
    const delegate: ConcurrencyLimit = {
      limit: 7,
      onSample: (_start, rtt, inflight, didDrop) => void samples.push([rtt, inflight, didDrop]),
      onChange: () => () => {},
    };
    const limit = windowedLimit(delegate, { minWindowTimeMs: 100, maxWindowTimeMs: 100 });
    expect(limit.limit).toBe(7);
    // The first window closes once it holds more than windowSize (10) samples.
    for (let i = 0; i < 10; i++) limit.onSample(i, 10, i, false);
    expect(samples).toEqual([]);
    limit.onSample(10, 20, 3, true);
    expect(samples).toHaveLength(1);
    expect(samples[0]?.[0]).toBeCloseTo(120 / 11);
    expect(samples[0]?.[1]).toBe(9);
    expect(samples[0]?.[2]).toBe(true);
    // The next one closes 100 ms after the end of that sample (30 ms), and not before.
    for (let t = 20; t < 120; t += 5) limit.onSample(t, 10, 1, false);
    expect(samples).toHaveLength(1);
    limit.onSample(125, 10, 1, false);
    expect(samples).toHaveLength(2);
    expect(samples[1]?.[2]).toBe(false);
  });

  it('ignores samples under minRttThresholdMs', () => {
    const onSample = vi.fn();
    const limit = windowedLimit({ limit: 1, onSample, onChange: () => () => {} });
    for (let i = 0; i < 50; i++) limit.onSample(i * 2000, 0.05, 1, false);
    expect(onSample).not.toHaveBeenCalled();
  });
});

describe('onChange', () => {
  it('notifies listeners of each new limit until they unsubscribe', () => {
    const limit = aimdLimit();
    const seen: number[] = [];
    const other: number[] = [];
    const unsubscribe = limit.onChange((l) => seen.push(l));
    limit.onChange((l) => other.push(l));
    feed(limit, 2, 10);
    unsubscribe();
    unsubscribe();
    feed(limit, 1, 10);
    expect(seen).toEqual([21, 22]);
    expect(other).toEqual([21, 22, 23]);
  });

  it('does not notify when the limit does not change', () => {
    const limit = aimdLimit({ maxLimit: 20 });
    const listener = vi.fn();
    limit.onChange(listener);
    feed(limit, 5, 10);
    expect(listener).not.toHaveBeenCalled();
  });

  it('notifies every listener even if one throws, then rethrows', () => {
    const limit = aimdLimit();
    const failure = new Error('listener bug');
    const later = vi.fn();
    limit.onChange(() => {
      throw failure;
    });
    limit.onChange(later);
    expect(() => feed(limit, 1, 10)).toThrow(failure);
    expect(later).toHaveBeenCalledWith(21);
    expect(limit.limit).toBe(21);
  });
});

describe('option validation', () => {
  it.each([
    [
      () => vegasLimit({ initialLimit: 2000 }),
      'vegasLimit: ',
      'initialLimit must be between 1 and maxConcurrency (1000)',
    ],
    [() => vegasLimit({ initialLimit: 0 }), 'vegasLimit: ', 'initialLimit must be between 1 and maxConcurrency (1000)'],
    [() => vegasLimit({ smoothing: 0 }), 'vegasLimit: ', 'smoothing must be greater than 0 and at most 1'],
    [() => vegasLimit({ alpha: -1 }), 'vegasLimit: ', 'alpha must be a whole number ≥ 0 or a function'],
    [() => vegasLimit({ increase: 3 as never }), 'vegasLimit: ', 'increase must be a function'],
    [() => vegasLimit({ probeMultiplier: 0 }), 'vegasLimit: ', 'probeMultiplier must be at least 1'],
    [
      () => aimdLimit({ initialLimit: 10 }),
      'aimdLimit: ',
      'initialLimit must be between minLimit (20) and maxLimit (200)',
    ],
    [() => aimdLimit({ backoffRatio: 1 }), 'aimdLimit: ', 'backoffRatio must be in the range [0.5, 1)'],
    [() => aimdLimit({ timeoutMs: 0 }), 'aimdLimit: ', 'timeoutMs must be greater than 0'],
    [() => aimdLimit({ minLimit: 300 }), 'aimdLimit: ', 'minLimit must be between 1 and maxLimit (200)'],
    [
      () => gradient2Limit({ initialLimit: 300 }),
      'gradient2Limit: ',
      'initialLimit must be between minLimit (20) and maxConcurrency (200)',
    ],
    [() => gradient2Limit({ rttTolerance: 0.9 }), 'gradient2Limit: ', 'rttTolerance must be at least 1'],
    [() => gradient2Limit({ longWindow: 1.5 }), 'gradient2Limit: ', 'longWindow must be a whole number'],
    [() => gradient2Limit({ queueSize: 'x' as never }), 'gradient2Limit: ', 'queueSize must be a whole number ≥ 0'],
    [
      () => windowedLimit(aimdLimit(), { minWindowTimeMs: 50 }),
      'windowedLimit: ',
      'minWindowTimeMs must be at least 100',
    ],
    [
      () => windowedLimit(aimdLimit(), { minWindowTimeMs: 500, maxWindowTimeMs: 200 }),
      'windowedLimit: ',
      'maxWindowTimeMs must be at least minWindowTimeMs (500)',
    ],
    [() => windowedLimit(aimdLimit(), { windowSize: 5 }), 'windowedLimit: ', 'windowSize must be at least 10'],
  ])('%# throws a TypeError naming the option and its range', (make, prefix, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(prefix);
    expect(make).toThrow(message);
  });

  it('rejects unknown options (typos) instead of ignoring them', () => {
    expect(() => aimdLimit({ maxLimt: 10 } as never)).toThrow(/aimdLimit: .*maxLimt/s);
  });

  it('rejects a delegate that is not a ConcurrencyLimit', () => {
    expect(() => windowedLimit({} as never)).toThrow('windowedLimit: delegate must be a ConcurrencyLimit');
  });
});
