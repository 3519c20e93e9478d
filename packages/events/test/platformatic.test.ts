import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createEventProducer } from '../src/index.js';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { byProfile, events } from './fixtures/catalog.js';
import { removeTempDirs, tempDir } from './helpers.js';

// The @platformatic/kafka transport against the real Kafka broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const kafka = new Kafka({ clientId: 'backlot-events-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const topic = `backlot-platformatic-${randomUUID()}`;
const PARTITIONS = 3;
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka broker not reachable at ${kafkaBrokers.join(',')}: ${String(error)}`, { cause: error });
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

describe('platformaticKafkaTransport', () => {
  it('rejects bad options, naming the field', () => {
    expect(() => platformaticKafkaTransport({ brokers: [] })).toThrow(/brokers/);
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'], producerConnections: 0 })).toThrow(
      /producerConnections/,
    );
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'] }).consumer({ groupId: 'g' })).toThrow(
      /kafkaTransport/,
    );
  });

  it('produces keyed events that kcat reads back: every event, each key in its kafkajs partition, in emit order', async () => {
    const N = 3000;
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: platformaticKafkaTransport({ brokers: kafkaBrokers, producerConnections: 3 }),
      topic,
      key: byProfile,
      spool: { dir: tempDir() },
      batch: { maxEvents: 250 },
    });
    const sent: string[] = [];
    for (let seq = 0; seq < N; seq++) {
      sent.push(
        producer.emitEnvelope('play.started', { profileId: `p${seq % 17}`, titleId: 't', country: 'FR', seq }).id,
      );
    }
    await producer.close();
    expect(producer.metrics()).toMatchObject({ emitted: N, sent: N, dropped: 0, spoolPending: 0 });

    const out = execFileSync(
      'kcat',
      ['-C', '-b', kafkaBrokers[0] as string, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\t%k\t%s\n'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((line) => {
        const [partition, key, value] = line.split('\t') as [string, string, string];
        return { partition: Number(partition), key, event: events.decode(value) };
      });
    expect(rows).toHaveLength(N);
    expect(rows.map((r) => r.event.id).sort()).toEqual([...sent].sort());

    // Keys land where kafkajs (and the Java client) would put them, so clients can be swapped.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));
    for (let p = 0; p < 17; p++) {
      const mine = rows.filter((r) => r.key === `p${p}`);
      const expected = partitioner({ topic, partitionMetadata, message: { key: `p${p}`, value: null } });
      expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([expected]));
      const seqs = mine.map((r) => (r.event.payload as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // Each partition holds its events in emit order (one connection writes it).
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const seqs = rows.filter((r) => r.partition === partition).map((r) => (r.event.payload as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });
});
