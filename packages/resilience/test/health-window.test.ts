import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HealthWindow } from '../src/breaker/health-window.js';

describe('HealthWindow', () => {
  it('forgets buckets that leave the window, and keeps the rest', () => {
    let t = 0;
    const window = new HealthWindow(10_000, 10, () => t);
    for (let i = 0; i < 5; i++) window.error();
    t = 4_000;
    for (let i = 0; i < 5; i++) window.success();
    expect(window.health()).toEqual({ totalRequests: 10, errorCount: 5, errorPercentage: 50 });
    expect(window.exceeds(10, 50)).toBe(true);
    t = 10_500; // the first bucket (0–999 ms) has left the window
    expect(window.health()).toEqual({ totalRequests: 5, errorCount: 0, errorPercentage: 0 });
    t = 100_000;
    expect(window.health().totalRequests).toBe(0);
  });

  it('matches a naive count of the events in the live buckets (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3000 }), ok: fc.boolean() }), { maxLength: 200 }),
        (events) => {
          let t = 0;
          const window = new HealthWindow(10_000, 10, () => t);
          const seen: { epoch: number; ok: boolean }[] = [];
          for (const { dt, ok } of events) {
            t += dt;
            if (ok) window.success();
            else window.error();
            seen.push({ epoch: Math.floor(t / 1000), ok });
            const oldest = Math.floor(t / 1000) - 9;
            const live = seen.filter((e) => e.epoch >= oldest);
            const errors = live.filter((e) => !e.ok).length;
            expect(window.health()).toEqual({
              totalRequests: live.length,
              errorCount: errors,
              errorPercentage: Math.trunc((errors / live.length) * 100),
            });
          }
        },
      ),
    );
  });
});
