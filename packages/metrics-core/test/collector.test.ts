import fc from 'fast-check';
import { type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  LatencyHistogram,
  type PrometheusSample,
  prometheusCounter,
  prometheusGauge,
  prometheusHistogram,
  registerCollectors,
} from '../src/index.js';
import { parseExposition } from './prometheus-text.js';

describe('collectors in a prom-client Registry', () => {
  it('serve counters, gauges and histograms read at scrape time, as prom-client’s own', async () => {
    const registry = new Registry();
    let calls = 7;
    const latency = new LatencyHistogram();
    const unregister = registerCollectors(registry, [
      prometheusCounter('demo_calls_total', 'Calls.', () => [[{ command: 'a' }, calls]]),
      prometheusGauge('demo_inflight', 'In flight.', () => [[{}, 2]]),
      prometheusHistogram('demo_duration_seconds', 'Latency.', () => [[{ command: 'a' }, latency.data([0.01, 0.1])]]),
    ]);
    latency.recordMs(5);
    latency.recordMs(50);
    latency.recordMs(500);
    calls = 9; // read live: the scrape sees the value of now

    const { samples, types } = parseExposition(await registry.metrics());
    expect(Object.fromEntries(types)).toEqual({
      demo_calls_total: 'counter',
      demo_inflight: 'gauge',
      demo_duration_seconds: 'histogram',
    });
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('demo_calls_total', { command: 'a' })).toBe(9);
    expect(value('demo_inflight')).toBe(2);
    expect(value('demo_duration_seconds_bucket', { command: 'a', le: '0.01' })).toBe(1);
    expect(value('demo_duration_seconds_bucket', { command: 'a', le: '0.1' })).toBe(2);
    expect(value('demo_duration_seconds_bucket', { command: 'a', le: '+Inf' })).toBe(3);
    expect(value('demo_duration_seconds_count', { command: 'a' })).toBe(3);
    expect(value('demo_duration_seconds_sum', { command: 'a' })).toBeCloseTo(0.555, 6);

    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    unregister(); // twice: nothing more
  });

  it('combine series with the same labels (whatever their order) into one', async () => {
    const registry = new Registry();
    const twice = (): PrometheusSample[] => [
      [{ producer: 'p', event: 'e' }, 2],
      [{ event: 'e', producer: 'p' }, 3],
      [{ producer: 'q', event: 'e' }, 1],
    ];
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.recordMs(2);
    b.recordMs(20);
    b.recordMs(200);
    registerCollectors(registry, [
      prometheusCounter('demo_total', 'Summed.', twice),
      prometheusGauge('demo_open', 'Max.', twice, { combine: Math.max }),
      prometheusHistogram('demo_seconds', 'Added bucket by bucket.', () => [
        [{ route: 'r' }, a.data([0.01])],
        [{ route: 'r' }, b.data([0.01])],
      ]),
    ]);
    const { samples } = parseExposition(await registry.metrics());
    const series = (name: string) => samples.filter((s) => s.name === name);
    expect(series('demo_total')).toEqual([
      { name: 'demo_total', labels: { producer: 'p', event: 'e' }, value: 5 },
      { name: 'demo_total', labels: { producer: 'q', event: 'e' }, value: 1 },
    ]);
    expect(series('demo_open').map((s) => s.value)).toEqual([3, 1]);
    expect(series('demo_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([
      ['0.01', 1],
      ['+Inf', 3],
    ]);
    expect(series('demo_seconds_count')[0]?.value).toBe(3);
  });

  it('refuse to add two series of one histogram with different buckets, naming the family', async () => {
    const registry = new Registry();
    const h = new LatencyHistogram();
    registerCollectors(registry, [
      prometheusHistogram('demo_mixed_seconds', 'Mixed.', () => [
        [{}, h.data([0.1])],
        [{}, h.data([0.2])],
      ]),
    ]);
    await expect(registry.metrics()).rejects.toThrow(/demo_mixed_seconds: two series .* different buckets/);
  });

  it('escape any label value: the exposition reads back to the same values (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        async (ids) => {
          const unique = [...new Set(ids)];
          const h = new LatencyHistogram();
          h.recordMs(1);
          const text = new Registry();
          const openMetrics = new Registry<OpenMetricsContentType>();
          openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
          for (const registry of [text, openMetrics]) {
            registerCollectors(registry, [
              prometheusCounter('hostile_total', 'Hostile labels.', () =>
                unique.map((id, i) => [{ route: id }, i] as const),
              ),
              prometheusHistogram('hostile_seconds', 'Hostile labels.', () =>
                unique.map((id) => [{ route: id }, h.data()] as const),
              ),
            ]);
            const { samples } = parseExposition(await registry.metrics());
            const routes = samples.filter((s) => s.name === 'hostile_total').map((s) => s.labels.route);
            expect(routes).toEqual(unique);
            const counts = samples.filter((s) => s.name === 'hostile_seconds_count').map((s) => s.labels.route);
            expect(counts).toEqual(unique);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('register all or none: a name clash unregisters those already added and throws prom-client’s error', async () => {
    const registry = new Registry();
    registerCollectors(registry, [prometheusGauge('taken', 'Already there.', () => [[{}, 1]])]);
    expect(() =>
      registerCollectors(registry, [
        prometheusCounter('first_total', 'Added, then removed.', () => []),
        prometheusGauge('taken', 'Clash.', () => []),
      ]),
    ).toThrow(/taken/);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['taken']);
  });

  it('unregister only their own collectors (another registered under the same name since is left alone)', async () => {
    const registry = new Registry();
    const unregister = registerCollectors(registry, [prometheusGauge('shared', 'Mine.', () => [[{}, 1]])]);
    registry.removeSingleMetric('shared');
    const theirs = prometheusGauge('shared', 'Theirs.', () => [[{}, 2]]);
    registry.registerMetric(theirs as never);
    unregister();
    expect(registry.getSingleMetric('shared')).toBe(theirs);
  });

  it('serve OpenMetrics when the registry does (counter names as prom-client renames them)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const unregister = registerCollectors(registry, [prometheusCounter('om_calls_total', 'Calls.', () => [[{}, 4]])]);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE om_calls counter');
    expect(text).toContain('om_calls_total 4');
    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });
});
