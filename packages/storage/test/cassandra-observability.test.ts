import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expectFamilies, parseExposition } from '../../metrics-core/test/prometheus-text.js';
import { installTracing } from '../../resilience/test/otel.js';
import {
  isPreconditionFailedError,
  isValidationError,
  registerPrometheusMetrics,
  STORAGE_OPERATION_CHANNEL,
  type StorageOperationMessage,
} from '../src/index.js';
import { cassandraFixture, cassandraOff } from './cassandra-env.js';

const { raw, store: freshStore } = cassandraFixture();

const viewing = z.object({ title: z.string(), position: z.number().int().nonnegative() });

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics()).samples;
}

function value(samples: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>): number {
  return (
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0
  );
}

describe.skipIf(cassandraOff)('cassandra store: observability', () => {
  it('counts every kv and series operation by outcome on the real node, into a fresh prom-client Registry', async () => {
    const store = await freshStore({ buckets: 4 });
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const bookmarks = store.namespace('bookmarks', viewing);
    const history = store.series('history', viewing);
    const before = await scrape(registry);

    const first = await bookmarks.put('p-1/t-1', { title: 't-1', position: 1 });
    await bookmarks.put('p-1/t-2', { title: 't-2', position: 2 });
    expect((await bookmarks.get('p-1/t-1'))?.value).toEqual({ title: 't-1', position: 1 });
    expect(await bookmarks.get('p-1/missing')).toBeUndefined();
    // A conditional write on a stale version: a lightweight transaction that is not applied.
    await bookmarks.put('p-1/t-1', { title: 't-1', position: 5 }, { ifVersion: first.version });
    await expect(
      bookmarks.put('p-1/t-1', { title: 't-1', position: 6 }, { ifVersion: first.version }),
    ).rejects.toSatisfy(isPreconditionFailedError);
    // A poison row written behind the adapter's back: the read fails validation and is counted so.
    await raw.execute(
      `INSERT INTO ${store.tables.kv} (namespace, bucket, id, value, version) VALUES (?, ?, ?, ?, ?)`,
      ['bookmarks', 0, 'poison', '{"title":42}', 'v'],
      { prepare: true },
    );
    const ids: string[] = [];
    await expect(
      (async () => {
        for await (const record of bookmarks.scan({ prefix: 'p' })) ids.push(record.id);
      })(),
    ).rejects.toSatisfy(isValidationError);
    const scanned: string[] = [];
    for await (const record of bookmarks.scan({ prefix: 'p-1/' })) scanned.push(record.id);
    expect(scanned).toEqual(['p-1/t-1', 'p-1/t-2']);
    await bookmarks.update('p-1/t-2', (current) => ({ title: 't-2', position: (current?.position ?? 0) + 1 }));
    await bookmarks.delete('p-1/t-2');

    for (let i = 0; i < 3; i++) await history.append('p-1', { title: `t-${i}`, position: i });
    const entries: unknown[] = [];
    for await (const entry of history.entries('p-1', { limit: 2 })) entries.push(entry);
    expect(entries).toHaveLength(3);
    await expect(history.append('p-1', { title: 'x', position: -1 })).rejects.toSatisfy(isValidationError);
    await history.deletePartition('p-1');

    const after = await scrape(registry);
    const grew = (operation: string, outcome: string) =>
      value(after, 'backlot_storage_operations_total', { store: 'cassandra', operation, outcome }) -
      value(before, 'backlot_storage_operations_total', { store: 'cassandra', operation, outcome });
    expect(grew('kv.put', 'success')).toBe(4); // 2 puts, the applied conditional put, update's put
    expect(grew('kv.put', 'precondition_failed')).toBe(1);
    expect(grew('kv.get', 'success')).toBe(3); // 2 gets (one missing: undefined, not an error), update's read
    expect(grew('kv.delete', 'success')).toBe(1);
    // Every bucket's first page of each scan (4 buckets, 2 scans), whatever was read from them.
    expect(grew('kv.scanPage', 'success')).toBeGreaterThanOrEqual(8);
    expect(grew('series.append', 'success')).toBe(3);
    expect(grew('series.append', 'validation')).toBe(1);
    expect(grew('series.latest', 'success')).toBe(2); // entries(): pages of 2 then 1
    expect(grew('series.deletePartition', 'success')).toBe(1);
    const count = (samples: typeof after, operation: string) =>
      value(samples, 'backlot_storage_operation_duration_seconds_count', { store: 'cassandra', operation });
    expect(count(after, 'kv.get') - count(before, 'kv.get')).toBe(3);
    expect(count(after, 'series.latest') - count(before, 'series.latest')).toBe(2);

    await expectFamilies(registry, [
      ['backlot_storage_operations_total', 'counter', ['store', 'operation', 'outcome']],
      ['backlot_storage_operation_duration_seconds', 'histogram', ['store', 'operation']],
    ]);
    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('one client span per operation and a tracing-channel message, with the failure on the span', async () => {
    const store = await freshStore();
    const tracing = installTracing();
    const messages: StorageOperationMessage[] = [];
    const onStart = (message: unknown) => messages.push({ ...(message as StorageOperationMessage) });
    subscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:start`, onStart);
    try {
      const bookmarks = store.namespace('bookmarks', viewing);
      await trace.getTracer('test').startActiveSpan('request', async (request) => {
        await bookmarks.put('p-9/t-1', { title: 't-1', position: 1 });
        await expect(bookmarks.put('p-9/t-1', { title: 't-1', position: 2 }, { ifVersion: null })).rejects.toSatisfy(
          isPreconditionFailedError,
        );
        await store.series('history', viewing).latest('p-9');
        request.end();
      });
      const spans = tracing.spans().filter((s) => s.attributes['backlot.storage.store'] === 'cassandra');
      expect(spans.map((s) => s.name)).toEqual(['storage.kv.put', 'storage.kv.put', 'storage.series.latest']);
      const request = tracing.spans().find((s) => s.name === 'request');
      for (const span of spans) {
        expect(span.kind).toBe(SpanKind.CLIENT);
        expect(span.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
      }
      expect(spans[0]?.attributes).toMatchObject({
        'backlot.storage.key': 'p-9/t-1',
        'backlot.storage.outcome': 'success',
      });
      expect(spans[1]?.status.code).toBe(SpanStatusCode.ERROR);
      expect(spans[1]?.attributes['backlot.storage.outcome']).toBe('precondition_failed');
      expect(messages.filter((m) => m.store === 'cassandra')).toEqual([
        { store: 'cassandra', operation: 'kv.put', key: 'p-9/t-1' },
        { store: 'cassandra', operation: 'kv.put', key: 'p-9/t-1' },
        { store: 'cassandra', operation: 'series.latest', key: 'p-9' },
      ]);
    } finally {
      unsubscribe(`tracing:${STORAGE_OPERATION_CHANNEL}:start`, onStart);
      await tracing.stop();
    }
  });
});
