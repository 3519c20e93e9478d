import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Store } from '@backlot/storage';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createEventProducer, createPipeline, kafkaTransport, objectStoreSink } from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';
import { byProfile, events } from './fixtures/catalog.js';
import { collect, readTopic, removeTempDirs, tempDir, until } from './helpers.js';

// Integration tests against the real Kafka broker and S3-compatible server started by scripts/services.sh.
const { kafkaBrokers, s3 } = serviceEnv();
// Raw kafkajs clients of the test get the fix kafkaTransport applies to its own (no negative-timeout warning).
fixKafkajsRequestQueue();
const kafka = new Kafka({ clientId: 'backlot-events-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const topic = `backlot-pipeline-${randomUUID()}`;
const transport = kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 });
let admin: Admin;
const N = 2000;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka broker not reachable at ${kafkaBrokers.join(',')}: ${String(error)}`, { cause: error });
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

describe('the producer and pipeline on a real Kafka broker', () => {
  const sent: string[] = [];

  it('produces keyed, batched, gzip events that a client that is not ours (kcat) reads back', async () => {
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      topic,
      key: byProfile,
      spool: { dir: tempDir() },
      batch: { maxEvents: 300 },
    });
    for (let seq = 0; seq < N; seq++) {
      const envelope = producer.emitEnvelope(
        'play.started',
        { profileId: `p${seq % 13}`, titleId: `t${seq % 5}`, country: seq % 2 ? 'FR' : 'BR', seq },
        { time: new Date(Date.UTC(2026, 10, 26, 10, 0, 0) + seq * 10) },
      );
      sent.push(envelope.id);
    }
    await producer.close();
    const metrics = producer.metrics();
    expect(metrics).toMatchObject({ emitted: N, sent: N, dropped: 0, spoolPending: 0 });
    expect(metrics.batches).toBeGreaterThanOrEqual(Math.ceil(N / 300));

    const rows = readTopic(kafkaBrokers, topic).map(({ partition, key, value }) => ({
      partition,
      key,
      event: events.decode(value),
    }));
    expect(rows).toHaveLength(N);
    expect(rows.map((r) => r.event.id).sort()).toEqual([...sent].sort());
    for (const row of rows) expect(row.key).toBe((row.event.payload as { profileId: string }).profileId);
    // Each key lives in one partition, in emit order.
    for (let p = 0; p < 13; p++) {
      const mine = rows.filter((r) => r.key === `p${p}`);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      const seqs = mine.map((r) => (r.event.payload as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });

  it('runs a consumer-group pipeline with a window and an S3 sink, committing after the sink wrote', async () => {
    const bucket = `backlot-events-${randomUUID().slice(0, 8)}`;
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const store = createS3Store({
      bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });

    const groupId = `trending-${randomUUID()}`;
    const windows = collect<{ key: string; start: number; count: number }>();
    const pipeline = createPipeline({ catalog: events, transport, groupId, topics: [topic], commitIntervalMs: 200 });
    pipeline.events().to(objectStoreSink({ store, prefix: 'raw/', maxRecords: 500 }));
    pipeline
      .events('play.started')
      .window({
        sizeMs: 5_000,
        key: (e) => `${e.payload.country}/${e.payload.titleId}`,
        init: () => 0,
        add: (n) => n + 1,
      })
      .to(windows);
    await pipeline.start();
    await until(() => pipeline.metrics().processed === N, `${N} events processed`);
    await pipeline.close();

    // Event times span 20 s: the first three 5-second windows closed (the last one is still open).
    const closed = windows.flushed.reduce((sum, w) => sum + w.count, 0);
    expect(closed).toBe(1500);
    expect(new Set(windows.flushed.map((w) => w.start)).size).toBe(3);

    // Every event is in exactly one raw object, time-partitioned, named by partition and first offset.
    const ids: string[] = [];
    for await (const entry of store.list({ prefix: 'raw/' })) {
      if (entry.type !== 'object') continue;
      expect(entry.key).toMatch(
        new RegExp(`^raw/${topic}/date=2026-11-26/hour=10/${topic}\\+[0-2]\\+\\d{20}\\.ndjson\\.gz$`),
      );
      const lines = gunzipSync((await store.get(entry.key)).body)
        .toString()
        .trim()
        .split('\n');
      ids.push(...lines.map((line) => events.decode(line).id));
    }
    expect(ids.sort()).toEqual([...sent].sort());

    // Offsets are committed, but not past the events the open window still needs.
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0) ?? 0;
    expect(total).toBe(1500);
    store.destroy();
    client.destroy();
  });

  it("sends zstd batches (Node's own zstd) that kcat reads back and a kafkajs pipeline consumes", async () => {
    const zstdTopic = `${topic}-zstd`;
    await admin.createTopics({ topics: [{ topic: zstdTopic, numPartitions: 2 }], waitForLeaders: true });
    try {
      const zstd = kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100, compression: 'zstd' });
      const producer = createEventProducer({
        catalog: events,
        source: 'play-api',
        transport: zstd,
        topic: zstdTopic,
        key: byProfile,
        spool: false,
        batch: { maxEvents: 100 },
      });
      const ids: string[] = [];
      for (let seq = 0; seq < 500; seq++) {
        const payload = { profileId: `p${seq % 7}`, titleId: `t${seq % 3}`, country: 'FR', seq };
        ids.push(producer.emitEnvelope('play.started', payload).id);
      }
      await producer.close();
      expect(producer.metrics()).toMatchObject({ sent: 500, dropped: 0 });

      expect(
        readTopic(kafkaBrokers, zstdTopic)
          .map((row) => events.decode(row.value).id)
          .sort(),
      ).toEqual([...ids].sort());

      const seen = collect<string>();
      const pipeline = createPipeline({
        catalog: events,
        transport: zstd,
        groupId: `zstd-${randomUUID()}`,
        topics: [zstdTopic],
      });
      pipeline
        .events()
        .map((event) => event.id)
        .to(seen);
      await pipeline.start();
      await until(() => pipeline.metrics().processed === 500, '500 zstd events processed');
      await pipeline.close();
      expect([...new Set(seen.flushed)].sort()).toEqual([...ids].sort());
    } finally {
      await admin.deleteTopics({ topics: [zstdTopic] }).catch(() => {});
    }
  });

  it('rejects an unknown compression, naming the field and the choices', () => {
    expect(() => kafkaTransport({ brokers: kafkaBrokers, compression: 'lz4' as 'gzip' })).toThrow(
      /compression must be 'gzip', 'zstd' or 'none'/,
    );
  });
});
