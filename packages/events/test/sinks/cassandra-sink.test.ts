import { randomUUID } from 'node:crypto';
import { type BackendError, isBackendError } from '@backlot/storage';
import { Client } from 'cassandra-driver';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../../scripts/test-env.js';
import {
  type CassandraBatchClient,
  cassandraSink,
  createEventProducer,
  createPipeline,
  kafkaTransport,
  type WindowResult,
} from '../../src/index.js';
import { byProfile, events } from '../fixtures/catalog.js';
import { removeTempDirs, tempDir, until } from '../helpers.js';

// On the real Kafka broker and the real Cassandra node started by scripts/services.sh
// (BACKLOT_CASSANDRA=off skips the Cassandra part).
const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const { kafkaBrokers } = serviceEnv();
const contactPoints = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');
const keyspace = 'backlot_events_test';
const table = `${keyspace}.plays_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
const topic = `backlot-cassandra-sink-${randomUUID()}`;
const N = 600;
const MINUTE = Date.UTC(2026, 10, 26, 10, 0, 0);

const kafka = new Kafka({ clientId: 'backlot-cassandra-sink-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
let admin: Admin;
let client: Client;

describe.skipIf(cassandraOff)('cassandraSink on the real broker and the real Cassandra node', () => {
  beforeAll(async () => {
    client = new Client({ contactPoints, localDataCenter: 'datacenter1', socketOptions: { readTimeout: 30_000 } });
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = { 'class': 'SimpleStrategy', 'replication_factor': 1 }`,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${table} (country text, title text, window_start timestamp, plays int,
        PRIMARY KEY ((country, title), window_start))`,
    );
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      topic,
      key: byProfile,
      spool: { dir: tempDir() },
    });
    // 600 plays over 3 minutes (the last one's window stays open), 4 titles x 2 countries.
    for (let seq = 0; seq < N; seq++) {
      producer.emit(
        'play.started',
        { profileId: `p${seq % 17}`, titleId: `t${seq % 4}`, country: seq % 2 ? 'FR' : 'BR', seq },
        { time: new Date(MINUTE + seq * 300) },
      );
    }
    await producer.close();
  }, 120_000);

  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
    await admin?.disconnect();
    await client?.execute(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await client?.shutdown();
    removeTempDirs();
  });

  async function runPipeline(groupId: string): Promise<void> {
    const pipeline = createPipeline({
      catalog: events,
      transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
      groupId,
      topics: [topic],
      fromBeginning: true,
      commitIntervalMs: 100,
    });
    pipeline
      .events('play.started')
      .window({
        sizeMs: 60_000,
        key: (e) => `${e.payload.country}/${e.payload.titleId}`,
        init: () => 0,
        add: (n) => n + 1,
      })
      .to(
        cassandraSink({
          client,
          table,
          partitionKey: ['country', 'title'],
          clusteringKey: ['window_start'],
          batchSize: 2,
          row: (w: WindowResult<number>) => {
            const [country, title] = w.key.split('/') as [string, string];
            return { country, title, window_start: new Date(w.start), plays: w.value };
          },
        }),
      );
    await pipeline.start();
    await until(() => pipeline.metrics().processed === N, `${N} events processed`);
    await pipeline.close();
  }

  async function rowsFromOutside(): Promise<Record<string, number>> {
    const result = await client.execute(`SELECT country, title, window_start, plays FROM ${table}`);
    return Object.fromEntries(
      result.rows.map((r) => [
        `${(r.window_start as Date).toISOString().slice(11, 16)} ${r.country}/${r.title}`,
        r.plays as number,
      ]),
    );
  }

  it('upserts window results batched by partition; a replay rewrites the same rows', { timeout: 180_000 }, async () => {
    await runPipeline(`cassandra-sink-${randomUUID()}`);
    const expected: Record<string, number> = {};
    for (let seq = 0; seq < N; seq++) {
      const time = MINUTE + seq * 300;
      if (time >= MINUTE + 120_000) continue; // the third minute's window is still open
      const key = `${new Date(time - (time % 60_000)).toISOString().slice(11, 16)} ${seq % 2 ? 'FR' : 'BR'}/t${seq % 4}`;
      expected[key] = (expected[key] ?? 0) + 1;
    }
    const first = await rowsFromOutside();
    expect(first).toEqual(expected);
    expect(Object.values(first).reduce((a, b) => a + b, 0)).toBe(400);

    // A replay (another group from the beginning) writes the same rows again: nothing doubles.
    await runPipeline(`cassandra-sink-replay-${randomUUID()}`);
    expect(await rowsFromOutside()).toEqual(expected);
  });
});

describe('cassandraSink: options and failures', () => {
  it('rejects bad options naming the field', () => {
    const fake: CassandraBatchClient = { batch: async () => undefined };
    const row = () => ({ k: 'a' });
    expect(() => cassandraSink({ client: fake, table: 'bad', partitionKey: ['k'], row })).toThrow(/table/);
    expect(() => cassandraSink({ client: fake, table: 'ks.t', partitionKey: [], row })).toThrow(/partitionKey/);
    expect(() =>
      cassandraSink({ client: {} as CassandraBatchClient, table: 'ks.t', partitionKey: ['k'], row }),
    ).toThrow(/client is required/);
    const sink = cassandraSink({ client: fake, table: 'ks.t', partitionKey: ['k'], row: () => ({ v: 1 }) });
    expect(() => sink.write({}, { topic: 't', partition: 0, offset: '0', eventTime: 0 })).toThrow(/primary-key column/);
  });

  it('a failed batch fails the flush with a coded retryable error and keeps every row for the next flush', async () => {
    const calls: { query: string; params: unknown[] }[][] = [];
    let failNext = true;
    const flaky: CassandraBatchClient = {
      async batch(queries) {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('Operation timed out'), { name: 'OperationTimedOutError' });
        }
        calls.push(queries);
      },
    };
    const sink = cassandraSink<{ k: string; n: number }>({
      client: flaky,
      table: 'ks.t',
      partitionKey: ['k'],
      batchSize: 10,
      concurrency: 1,
      row: (r) => ({ k: r.k, n: r.n }),
    });
    const at = { topic: 't', partition: 0, offset: '0', eventTime: 0 };
    for (let i = 0; i < 5; i++) sink.write({ k: `k${i % 2}`, n: i }, at);
    const error = await sink.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBackendError(error)).toBe(true);
    expect((error as BackendError).retryable).toBe(true);
    expect((error as BackendError).status).toBe('deadline');
    sink.write({ k: 'k2', n: 9 }, at);
    await sink.flush();
    // Latest value per primary key, every key written, one batch per partition.
    const written = calls.flat().map((q) => q.params);
    expect(written.sort()).toEqual([
      ['k0', 4],
      ['k1', 3],
      ['k2', 9],
    ]);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.[0]?.query).toBe('INSERT INTO ks.t (k, n) VALUES (?, ?)');
  });
});
