import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  embeddedLogTransport,
  ensureTopics,
  kafkaCheckpoints,
  kafkaTransport,
  registerPrometheusMetrics,
} from '../src/index.js';
import { byProfile, events } from './fixtures/catalog.js';
import { trendingWindow } from './fixtures/trending.js';
import { collect, connectAdmin, removeTempDirs, tempDir, until } from './helpers.js';

// Prometheus families read from a producer and a checkpointed pipeline on the real broker (scripts/services.sh).
const { kafkaBrokers } = serviceEnv();
const run = randomUUID().slice(0, 8);
const topic = `prom-${run}`;
const groupId = `prom-group-${run}`;
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic, partitions: 3, retentionMs: 3_600_000 }] });
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  removeTempDirs();
});

type Json = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

async function families(registry: Registry): Promise<Map<string, Json>> {
  return new Map((await registry.getMetricsAsJSON()).map((family) => [family.name, family]));
}

/** The values of `family` whose labels include `match`. */
function valuesOf(family: Json | undefined, match: Record<string, string | number>) {
  return (family?.values ?? []).filter((value) =>
    Object.entries(match).every(([k, v]) => (value.labels as Record<string, unknown>)[k] === v),
  );
}

/** A histogram value's series (`…_bucket`, `…_sum`, `…_count`): prom-client's JSON has it, its types do not. */
const seriesName = (value: object): string => (value as { metricName?: string }).metricName ?? '';

const eventsFamilies = {
  backlot_events_emitted_total: 'counter',
  backlot_events_sent_total: 'counter',
  backlot_events_spooled_total: 'counter',
  backlot_events_dead_lettered_total: 'counter',
  backlot_events_degraded: 'gauge',
  backlot_events_ack_duration_seconds: 'histogram',
  backlot_pipeline_lag: 'gauge',
  backlot_pipeline_consumed_total: 'counter',
  backlot_pipeline_dead_lettered_total: 'counter',
  backlot_pipeline_checkpoints_total: 'counter',
  backlot_pipeline_state_bytes: 'gauge',
  backlot_pipeline_restore_seconds: 'gauge',
  backlot_pipeline_last_checkpoint_timestamp_seconds: 'gauge',
};

describe('registerPrometheusMetrics (real broker)', () => {
  it('exposes a producer’s and a checkpointed pipeline’s families, typed and labelled, and unregisters them', async () => {
    const startedAt = Date.now();
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const source = `prom-api-${run}`;
    const producer = createEventProducer({
      catalog: events,
      source,
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      topic,
      key: byProfile,
      spool: { dir: tempDir() },
    });
    const N = 600;
    for (let seq = 0; seq < N; seq++) {
      producer.emit(
        'play.started',
        { profileId: `p${seq % 13}`, titleId: `t${seq % 10}`, country: 'FR', seq },
        { time: new Date(Date.UTC(2026, 10, 26, 12, 0, 0) + seq * 100) },
      );
    }
    for (let i = 0; i < 7; i++) producer.emit('search.performed', { profileId: 'p1', query: `q${i}` });
    await producer.flush();

    let scraped = await families(registry);
    expect(Object.fromEntries([...scraped].map(([name, family]) => [name, family.type]))).toEqual(eventsFamilies);
    const emitted = scraped.get('backlot_events_emitted_total');
    expect(valuesOf(emitted, { producer: source }).map((v) => [v.labels.event, v.value])).toEqual(
      expect.arrayContaining([
        ['play.started', N],
        ['search.performed', 7],
      ]),
    );
    expect(valuesOf(emitted, { producer: source })).toHaveLength(2);
    expect(valuesOf(scraped.get('backlot_events_sent_total'), { producer: source })[0]?.value).toBe(N + 7);
    expect(valuesOf(scraped.get('backlot_events_degraded'), { producer: source })[0]?.value).toBe(0);
    expect(valuesOf(scraped.get('backlot_events_dead_lettered_total'), { producer: source })[0]?.value).toBe(0);
    expect(valuesOf(scraped.get('backlot_events_spooled_total'), { producer: source })).toHaveLength(1);
    // The histogram: cumulative buckets ending at +Inf = count = events sent, a positive sum.
    const ack = scraped.get('backlot_events_ack_duration_seconds');
    const buckets = valuesOf(ack, { producer: source }).filter((v) => seriesName(v).endsWith('_bucket'));
    expect(buckets.length).toBeGreaterThan(2);
    const counts = buckets.map((v) => v.value);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: N + 7 });
    const count = valuesOf(ack, { producer: source }).find((v) => seriesName(v).endsWith('_count'));
    const sum = valuesOf(ack, { producer: source }).find((v) => seriesName(v).endsWith('_sum'));
    expect(count?.value).toBe(N + 7);
    expect(sum?.value).toBeGreaterThan(0);
    // The text exposition parses as Prometheus' own: the histogram's series are there.
    const text = await registry.metrics();
    expect(text).toContain('# TYPE backlot_events_ack_duration_seconds histogram');
    expect(text).toContain(`backlot_events_ack_duration_seconds_bucket{producer="${source}",le="+Inf"} ${N + 7}`);

    const sink = collect();
    const pipeline = createPipeline({
      catalog: events,
      transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
      groupId,
      topics: [topic],
      commitIntervalMs: 100,
      deadLetterTopic: false,
      checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
    });
    pipeline.events('play.started').window(trendingWindow).to(sink);
    await pipeline.start();
    await until(() => pipeline.metrics().consumed >= N + 7, 'the pipeline consumed every event');
    await until(() => pipeline.metrics().checkpoints >= 3, 'a checkpoint per partition');
    scraped = await families(registry);
    expect(valuesOf(scraped.get('backlot_pipeline_consumed_total'), { pipeline: groupId })[0]?.value).toBe(N + 7);
    expect(valuesOf(scraped.get('backlot_pipeline_dead_lettered_total'), { pipeline: groupId })[0]?.value).toBe(0);
    expect(valuesOf(scraped.get('backlot_pipeline_checkpoints_total'), { pipeline: groupId })[0]?.value).toBe(
      pipeline.metrics().checkpoints,
    );
    const lag = valuesOf(scraped.get('backlot_pipeline_lag'), { pipeline: groupId });
    expect(lag.length).toBeGreaterThan(0);
    for (const value of lag) {
      expect(value.labels).toEqual({ pipeline: groupId, topic, partition: expect.any(Number) });
      expect(value.value).toBeGreaterThanOrEqual(0);
    }
    const state = valuesOf(scraped.get('backlot_pipeline_state_bytes'), { pipeline: groupId });
    expect(state.map((v) => v.labels.partition).sort()).toEqual([0, 1, 2]);
    // Open windows were checkpointed: their state has a size.
    expect(state.reduce((total, v) => total + v.value, 0)).toBeGreaterThan(0);
    // Each partition's restore time and last checkpoint, as metrics().partitions has them.
    const partitions = pipeline.metrics().partitions;
    const restore = valuesOf(scraped.get('backlot_pipeline_restore_seconds'), { pipeline: groupId });
    expect(restore.map((v) => [v.labels.partition, v.value]).sort()).toEqual(
      partitions.map((p) => [p.partition, p.restoreMs / 1000]).sort(),
    );
    const lastCheckpoint = valuesOf(scraped.get('backlot_pipeline_last_checkpoint_timestamp_seconds'), {
      pipeline: groupId,
    });
    expect(lastCheckpoint.map((v) => v.labels.partition).sort()).toEqual([0, 1, 2]);
    for (const value of lastCheckpoint) {
      // Seconds since the epoch, not ms: after the test started, not in the future.
      expect(value.value).toBeGreaterThan(startedAt / 1000);
      expect(value.value).toBeLessThanOrEqual(Date.now() / 1000);
    }

    await pipeline.close();
    await producer.close();
    // Closed: their series are gone.
    scraped = await families(registry);
    expect(valuesOf(scraped.get('backlot_pipeline_consumed_total'), { pipeline: groupId })).toHaveLength(0);
    expect(valuesOf(scraped.get('backlot_events_sent_total'), { producer: source })).toHaveLength(0);

    unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    // Registered again after unregistering: no name clash.
    registerPrometheusMetrics(registry)();
  });
});

describe('registerPrometheusMetrics (embedded log)', () => {
  it('refuses a second registration in the same registry, keeping the first', () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    expect(() => registerPrometheusMetrics(registry)).toThrow(/already been registered/);
    expect(registry.getSingleMetric('backlot_events_sent_total')).toBeDefined();
    unregister();
    expect(registry.getSingleMetric('backlot_events_sent_total')).toBeUndefined();
  });

  it('counts a poison message in backlot_pipeline_dead_lettered_total', async () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const transport = embeddedLogTransport({ dir: tempDir() });
    const good = events.envelope('search.performed', { profileId: 'p', query: 'dark' }, { source: 's' });
    await transport.producer().send('events', [
      { key: null, value: Buffer.from('{"not":"an event"}'), timestamp: Date.now() },
      { key: null, value: events.encode(good), timestamp: Date.now() },
    ]);
    const groupId = `poison-${randomUUID()}`;
    const sink = collect<string>();
    const pipeline = createPipeline({ catalog: events, transport, groupId, commitIntervalMs: 50 });
    pipeline
      .events()
      .map((e) => e.id)
      .to(sink);
    await pipeline.start();
    await until(() => sink.flushed.length === 1, 'the good event');
    const scraped = await families(registry);
    expect(valuesOf(scraped.get('backlot_pipeline_dead_lettered_total'), { pipeline: groupId })).toEqual([
      { labels: { pipeline: groupId }, value: 1 },
    ]);
    expect(valuesOf(scraped.get('backlot_pipeline_consumed_total'), { pipeline: groupId })[0]?.value).toBe(2);
    // Without checkpoints, no checkpoint families for this pipeline.
    expect(valuesOf(scraped.get('backlot_pipeline_checkpoints_total'), { pipeline: groupId })).toEqual([]);
    expect(valuesOf(scraped.get('backlot_pipeline_state_bytes'), { pipeline: groupId })).toEqual([]);
    expect(valuesOf(scraped.get('backlot_pipeline_restore_seconds'), { pipeline: groupId })).toEqual([]);
    expect(valuesOf(scraped.get('backlot_pipeline_last_checkpoint_timestamp_seconds'), { pipeline: groupId })).toEqual(
      [],
    );
    await pipeline.close();
    unregister();
  });

  it('sums producers of the same source into one series', async () => {
    const registry = new Registry();
    const unregister = registerPrometheusMetrics(registry);
    const transport = embeddedLogTransport({ dir: tempDir() });
    const source = `twin-${randomUUID()}`;
    const a = createEventProducer({ catalog: events, source, transport, spool: false });
    const b = createEventProducer({ catalog: events, source, transport, spool: false });
    a.emit('search.performed', { profileId: 'p', query: 'a' });
    b.emit('search.performed', { profileId: 'p', query: 'b' });
    b.emit('search.performed', { profileId: 'p', query: 'c' });
    const emitted = (await families(registry)).get('backlot_events_emitted_total');
    expect(valuesOf(emitted, { producer: source })).toEqual([
      { labels: { producer: source, event: 'search.performed' }, value: 3 },
    ]);
    await Promise.all([a.close(), b.close()]);
    unregister();
  });

  it('escapes hostile producer names: each series stays one line whose label reads back as given', async () => {
    const transport = embeddedLogTransport({ dir: tempDir() });
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), async (hostile) => {
        const registry = new Registry();
        const unregister = registerPrometheusMetrics(registry);
        const id = randomUUID();
        const source = `${hostile}\n"}\\ ${id}`;
        const producer = createEventProducer({ catalog: events, source, transport, spool: false });
        try {
          producer.emit('search.performed', { profileId: 'p', query: 'q' });
          const text = await registry.metrics();
          // Other tests' producers may be live too: this one's series is the line with its id.
          const lines = text.split('\n').filter((line) => line.includes(id));
          expect(lines.filter((line) => line.startsWith('backlot_events_emitted_total{'))).toHaveLength(1);
          const line = lines.find((l) => l.startsWith('backlot_events_emitted_total{')) ?? '';
          const match =
            /^backlot_events_emitted_total\{producer="((?:[^"\\]|\\.)*)",event="search\.performed"\} 1$/.exec(line);
          const escaped = match?.[1];
          if (escaped === undefined) throw new Error(`not one well-formed series line: ${JSON.stringify(line)}`);
          const unescaped = escaped.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
          expect(unescaped).toBe(source);
        } finally {
          await producer.close();
          unregister();
        }
      }),
      { numRuns: 40 },
    );
  });
});
