import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import {
  AdaptiveLimiter,
  aimdLimit,
  type ConcurrencyLimit,
  type LimiterToken,
  vegasLimit,
} from '../src/limit/index.js';

/** A limit that records samples and whose value the test sets. */
function recordingLimit(initial: number) {
  const samples: { start: number; rtt: number; inflight: number; didDrop: boolean }[] = [];
  const limit: ConcurrencyLimit & { limit: number } = {
    limit: initial,
    onSample: (start, rtt, inflight, didDrop) => void samples.push({ start, rtt, inflight, didDrop }),
    onChange: () => () => {},
  };
  return { limit, samples };
}

describe('AdaptiveLimiter', () => {
  it('admits up to the limit, then rejects at once without queueing', () => {
    const { limit } = recordingLimit(3);
    const limiter = new AdaptiveLimiter({ limit });
    const tokens = [limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()];
    expect(tokens.every((t) => t !== undefined)).toBe(true);
    expect(limiter.inflight).toBe(3);
    expect(limiter.tryAcquire()).toBeUndefined();
    tokens[0]?.onSuccess();
    expect(limiter.inflight).toBe(2);
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it('measures the RTT from acquire to release on its clock, with the inflight count at acquire', () => {
    const { limit, samples } = recordingLimit(10);
    let now = 1000;
    const limiter = new AdaptiveLimiter({ limit, now: () => now });
    const a = limiter.tryAcquire();
    now += 5;
    const b = limiter.tryAcquire();
    now += 20;
    b?.onDropped();
    now += 10;
    a?.onSuccess();
    expect(samples).toEqual([
      { start: 1005, rtt: 20, inflight: 2, didDrop: true },
      { start: 1000, rtt: 35, inflight: 1, didDrop: false },
    ]);
  });

  it('times calls with performance.now() by default', () => {
    const { limit, samples } = recordingLimit(10);
    const spy = vi.spyOn(performance, 'now').mockReturnValueOnce(100).mockReturnValueOnce(142.5);
    try {
      new AdaptiveLimiter({ limit }).tryAcquire()?.onSuccess();
    } finally {
      spy.mockRestore();
    }
    expect(samples[0]).toMatchObject({ start: 100, rtt: 42.5 });
  });

  it('onIgnore releases the slot without feeding a sample', () => {
    const { limit, samples } = recordingLimit(1);
    const limiter = new AdaptiveLimiter({ limit });
    limiter.tryAcquire()?.onIgnore();
    expect(limiter.inflight).toBe(0);
    expect(samples).toEqual([]);
  });

  it('ignores a second release of the same token, whatever the method', () => {
    const { limit, samples } = recordingLimit(5);
    const limiter = new AdaptiveLimiter({ limit });
    const token = limiter.tryAcquire()!;
    limiter.tryAcquire();
    token.onSuccess();
    token.onSuccess();
    token.onDropped();
    token.onIgnore();
    expect(limiter.inflight).toBe(1);
    expect(samples).toHaveLength(1);
  });

  it('follows the limit as the algorithm moves it, in both directions', () => {
    const { limit } = recordingLimit(2);
    const limiter = new AdaptiveLimiter({ limit });
    const held = [limiter.tryAcquire(), limiter.tryAcquire()];
    expect(limiter.tryAcquire()).toBeUndefined();
    limit.limit = 3;
    expect(limiter.limit).toBe(3);
    held.push(limiter.tryAcquire());
    limit.limit = 1;
    for (const token of held.slice(0, 2)) token?.onIgnore();
    expect(limiter.inflight).toBe(1);
    expect(limiter.tryAcquire()).toBeUndefined();
    held[2]?.onIgnore();
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it('never lets inflight exceed the limit under 10,000 concurrent acquire attempts', async () => {
    let now = 0;
    const limiter = new AdaptiveLimiter({
      limit: vegasLimit({ initialLimit: 50, maxConcurrency: 200 }),
      now: () => now,
    });
    let admitted = 0;
    let rejected = 0;
    let violations = 0;
    let maxInflight = 0;
    const attempt = async (i: number) => {
      await tick();
      const token: LimiterToken | undefined = limiter.tryAcquire();
      if (!token) {
        rejected++;
        return;
      }
      admitted++;
      if (limiter.inflight > limiter.limit) violations++;
      maxInflight = Math.max(maxInflight, limiter.inflight);
      for (let hops = i % 4; hops >= 0; hops--) await tick();
      now += 1 + (i % 7);
      if (i % 13 === 0) token.onDropped();
      else if (i % 5 === 0) token.onIgnore();
      else token.onSuccess();
    };
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => attempt(i)));

    expect(admitted + rejected).toBe(10_000);
    expect(admitted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
    expect(violations).toBe(0);
    expect(maxInflight).toBeLessThanOrEqual(200);
    expect(limiter.inflight).toBe(0);
  });

  it('never lets inflight exceed a fixed limit, counted independently', async () => {
    const { limit } = recordingLimit(37);
    const limiter = new AdaptiveLimiter({ limit });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10_000 }, async (_, i) => {
        const token = limiter.tryAcquire();
        if (!token) return;
        running++;
        peak = Math.max(peak, running);
        for (let hops = i % 3; hops >= 0; hops--) await tick();
        running--;
        token.onSuccess();
      }),
    );
    expect(peak).toBe(37);
    expect(limiter.inflight).toBe(0);
  });

  it('keeps its count right when a limit listener throws during release', () => {
    const limit = aimdLimit();
    limit.onChange(() => {
      throw new Error('listener bug');
    });
    const limiter = new AdaptiveLimiter({ limit, now: () => 0 });
    const tokens = Array.from({ length: 10 }, () => limiter.tryAcquire());
    expect(() => tokens[9]?.onSuccess()).toThrow('listener bug');
    expect(limiter.inflight).toBe(9);
    expect(limiter.limit).toBe(21);
  });

  it.each([
    [undefined, 'AdaptiveLimiter: limit must be a ConcurrencyLimit'],
    [{}, 'AdaptiveLimiter: limit must be a ConcurrencyLimit'],
    [{ limit: { limit: 1 } }, 'AdaptiveLimiter: limit must be a ConcurrencyLimit'],
    [{ limit: aimdLimit(), now: 5 }, 'AdaptiveLimiter: now must be a function'],
  ])('rejects bad options %#', (options, message) => {
    expect(() => new AdaptiveLimiter(options as never)).toThrow(TypeError);
    expect(() => new AdaptiveLimiter(options as never)).toThrow(message);
  });
});
