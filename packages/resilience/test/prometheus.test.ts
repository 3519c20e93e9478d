import fc from 'fast-check';
import client, { type OpenMetricsContentType, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type ExpectedFamily, expectFamilies, parseExposition } from '../../metrics-core/test/prometheus-text.js';
import { CommandRegistry, defineCommand, registerPrometheusMetrics } from '../src/index.js';
import { registry as commands, exerciseCatalog } from './helpers.js';

/** Six calls (four successes, two failures that fall back), then a circuit forced open and one short-circuited call. */
async function exercise(registry: CommandRegistry): Promise<void> {
  const getTitle = await exerciseCatalog(registry);
  getTitle.open();
  await getTitle(true);
}

const FAMILIES: ExpectedFamily[] = [
  ['backlot_command_calls_total', 'counter', ['command', 'group', 'outcome']],
  ['backlot_command_fallbacks_total', 'counter', ['command', 'group', 'outcome']],
  ['backlot_command_retries_total', 'counter', ['command', 'group', 'result']],
  ['backlot_command_duration_seconds', 'histogram', ['command', 'group']],
  ['backlot_command_circuit_open', 'gauge', ['command']],
  ['backlot_command_concurrent_executions', 'gauge', ['command', 'group']],
  ['backlot_command_error_ratio', 'gauge', ['command', 'group']],
  ['backlot_bulkhead_active', 'gauge', ['group']],
  ['backlot_bulkhead_queued', 'gauge', ['group']],
  ['backlot_bulkhead_limit', 'gauge', ['group']],
  ['backlot_bulkhead_rejected_total', 'counter', ['group']],
];

describe('registerPrometheusMetrics', () => {
  it('registers every family with its type and label set, read from the live commands', async () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry, { commands });
    await exercise(commands);
    await expectFamilies(registry, FAMILIES);

    const text = parseExposition(await registry.metrics());
    const sample = (name: string, labels: Record<string, string>) =>
      text.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const cmd = { command: 'catalog.getTitle', group: 'catalog' };
    expect(sample('backlot_command_calls_total', { ...cmd, outcome: 'success' })).toBe(4);
    expect(sample('backlot_command_calls_total', { ...cmd, outcome: 'failure' })).toBe(2);
    expect(sample('backlot_command_calls_total', { ...cmd, outcome: 'short_circuited' })).toBe(1);
    expect(sample('backlot_command_fallbacks_total', { ...cmd, outcome: 'success' })).toBe(3);
    expect(sample('backlot_command_circuit_open', { command: 'catalog.getTitle' })).toBe(1);
    expect(sample('backlot_bulkhead_limit', { group: 'catalog' })).toBe(5);
    expect(sample('backlot_bulkhead_active', { group: 'catalog' })).toBe(0);
    // Seven calls as callers saw them; cumulative buckets never decrease and end at the count.
    expect(sample('backlot_command_duration_seconds_count', cmd)).toBe(7);
    const buckets = text.samples.filter((s) => s.name === 'backlot_command_duration_seconds_bucket');
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
    expect(buckets.at(-1)?.value).toBe(7);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value as number);
    }
    expect(text.types.get('backlot_command_duration_seconds')).toBe('histogram');

    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('serves OpenMetrics when the registry is set to it', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const unregister = registerPrometheusMetrics(registry, { commands });
    await exercise(commands);
    const text = await registry.metrics();
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE backlot_command_calls counter');
    expect(text).toContain(
      'backlot_command_calls_total{command="catalog.getTitle",group="catalog",outcome="success"} 4',
    );
    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('shares the families between command registries and unregisters them with the last', async () => {
    const registry = new Registry();
    const other = new CommandRegistry();
    const first = registerPrometheusMetrics(registry, { commands });
    const second = registerPrometheusMetrics(registry, { commands: [other] });
    defineCommand({ registry: commands, key: 'a', run: () => 1 });
    defineCommand({ registry: other, key: 'b', run: () => 2 });
    const names = async () =>
      parseExposition(await registry.metrics())
        .samples.filter((s) => s.name === 'backlot_command_circuit_open')
        .map((s) => s.labels.command);
    expect(await names()).toEqual(['a', 'b']);
    first();
    first(); // idempotent
    expect(await names()).toEqual(['b']);
    second();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    other.clear();
  });

  it('registers nothing when a family name is taken, and says so', () => {
    const registry = new Registry();
    new client.Gauge({ name: 'backlot_command_circuit_open', help: 'taken', registers: [registry] });
    expect(() => registerPrometheusMetrics(registry, { commands })).toThrow(/already been registered/);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['backlot_command_circuit_open']);
  });

  it("uses prom-client's global registry by default", async () => {
    const unregister = registerPrometheusMetrics(undefined, { commands });
    try {
      defineCommand({ registry: commands, key: 'global', run: () => 1 });
      expect(await client.register.getSingleMetricAsString('backlot_command_circuit_open')).toContain(
        'backlot_command_circuit_open{command="global"} 0',
      );
    } finally {
      unregister();
    }
    expect(client.register.getSingleMetric('backlot_command_circuit_open')).toBeUndefined();
  });

  it('escapes hostile label values: every key round-trips through the exposition (property)', async () => {
    const hostile = fc.stringMatching(/^[a-z"\\\n{},= ]{1,12}$/);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostile, { minLength: 1, maxLength: 5 }), async (keys) => {
        const registry = new Registry();
        const local = new CommandRegistry();
        const unregister = registerPrometheusMetrics(registry, { commands: local });
        for (const key of keys) defineCommand({ registry: local, key, group: `g${key}`, run: () => 1 });
        const parsed = parseExposition(await registry.metrics());
        const seen = parsed.samples
          .filter((s) => s.name === 'backlot_command_circuit_open')
          .map((s) => s.labels.command);
        expect(seen.sort()).toEqual([...keys].sort());
        const groups = parsed.samples.filter((s) => s.name === 'backlot_bulkhead_limit').map((s) => s.labels.group);
        expect(groups.sort()).toEqual(keys.map((k) => `g${k}`).sort());
        unregister();
        local.clear();
      }),
      { numRuns: 50 },
    );
  });
});
