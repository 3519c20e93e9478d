import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import client, { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { expectFamilies, parseExposition } from '../../metrics-core/test/prometheus-text.js';
import {
  createFilesystemStore,
  createMemoryStore,
  createS3Store,
  isNotFoundError,
  type ObjectStore,
  registerPrometheusMetrics,
} from '../src/index.js';
import { dropBucket, freshBucket, serverOptions } from './s3-env.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-prom-'));
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Counters are process-wide and cumulative: tests compare a scrape before and after. */
async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics()).samples;
}

function value(samples: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>): number {
  return (
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0
  );
}

/** put, get, head, a missing get, a listing and a delete. */
async function exercise(store: ObjectStore): Promise<void> {
  await store.put('a/one', 'hello');
  await store.get('a/one');
  await store.head('a/one');
  await expect(store.get('a/missing')).rejects.toSatisfy(isNotFoundError);
  for await (const _ of store.list({ prefix: 'a/' })) {
    // consume the listing
  }
  await store.delete('a/one');
}

describe('registerPrometheusMetrics (storage)', () => {
  it('counts every adapter: families, types and label sets, on memory, filesystem and real S3', async () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const s3 = createS3Store({ ...serverOptions, bucket: await freshBucket() });
    const stores = [createMemoryStore(), createFilesystemStore({ root: join(base, 'fs') }), s3];
    const before = await scrape(registry);
    for (const store of stores) await exercise(store);
    const after = await scrape(registry);

    for (const store of ['memory', 'filesystem', 's3']) {
      const grew = (operation: string, outcome: string) =>
        value(after, 'backlot_storage_operations_total', { store, operation, outcome }) -
        value(before, 'backlot_storage_operations_total', { store, operation, outcome });
      expect(grew('put', 'success'), store).toBe(1);
      expect(grew('get', 'success'), store).toBe(1);
      expect(grew('get', 'not_found'), store).toBe(1);
      expect(grew('head', 'success'), store).toBe(1);
      expect(grew('listPage', 'success'), store).toBeGreaterThanOrEqual(1);
      expect(grew('delete', 'success'), store).toBe(1);
      const count = (samples: typeof after) =>
        value(samples, 'backlot_storage_operation_duration_seconds_count', { store, operation: 'get' });
      expect(count(after) - count(before), store).toBe(2);
    }

    await expectFamilies(registry, [
      ['backlot_storage_operations_total', 'counter', ['store', 'operation', 'outcome']],
      ['backlot_storage_operation_duration_seconds', 'histogram', ['store', 'operation']],
    ]);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE backlot_storage_operation_duration_seconds histogram');

    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    await dropBucket(s3);
    s3.destroy();
  });

  it("registers in prom-client's global registry by default, and refuses a taken name", async () => {
    const unregister = registerPrometheusMetrics();
    try {
      expect(client.register.getSingleMetric('backlot_storage_operations_total')).toBeDefined();
      expect(() => registerPrometheusMetrics(client.register)).toThrow(/already been registered/);
    } finally {
      unregister();
    }
    expect(client.register.getSingleMetric('backlot_storage_operations_total')).toBeUndefined();
  });

  it('keeps hostile keys out of the labels: label values stay in their closed sets (property)', async () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const store = createMemoryStore();
    const hostile = fc.stringMatching(/^[a-z"\\{},= ]{1,12}$/);
    await fc.assert(
      fc.asyncProperty(hostile, async (key) => {
        await store.put(key, 'x').catch(() => undefined);
        await store.get(`${key}-missing`).catch(() => undefined);
        for (const sample of await scrape(registry)) {
          if (!sample.name.startsWith('backlot_storage_')) continue;
          expect(['memory', 'filesystem', 's3']).toContain(sample.labels.store);
          expect(sample.labels.operation).toMatch(/^[a-zA-Z]+$/);
          if (sample.labels.outcome !== undefined) expect(sample.labels.outcome).toMatch(/^[a-z_]+$/);
        }
      }),
      { numRuns: 30 },
    );
    unregister();
  });
});
