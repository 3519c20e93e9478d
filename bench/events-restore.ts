/**
 * `npm run bench -- events-restore`: how long taking a partition over and
 * restoring its window state from the changelog takes, for N keys, on the
 * real Kafka broker, beside a raw kafkajs consumer reading the same
 * changelog partition to its end (the ceiling of any restore on kafkajs).
 *
 * A changelog (2 partitions, as `kafkaCheckpoints` creates it) gets N keys of
 * window state on partition 0 (BENCH_RESTORE_KEYS, default 20,000), each key
 * written twice (two checkpoints per key, as open windows change), in
 * checkpoint transactions of 10,000 changes. Then each round:
 *
 * - backlot-restore: a fresh `kafkaCheckpoints` store `assign()`s the
 *   partition: the take-over transaction (fencing), a consumer group of its
 *   own, the changelog read (`read_committed`) up to the take-over's marker.
 * - kafkajs-read: a raw kafkajs consumer in a fresh group reads the partition
 *   from the beginning to the end offset taken before it starts.
 *
 * Figures: restore_ms (wall time), records_per_s (changelog records read per
 * second of it).
 */
import { randomUUID } from 'node:crypto';
import { ensureTopics, kafkaCheckpoints } from '@backlot/events';
import { Kafka, logLevel } from 'kafkajs';
import { serviceEnv } from '../scripts/test-env.ts';
import { type Figures, runBench } from './lib/harness.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const KEYS = Number(process.env.BENCH_RESTORE_KEYS ?? 20_000);
const { kafkaBrokers } = serviceEnv();
const kafka = new Kafka({ clientId: 'bench-events-restore', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const run = randomUUID().slice(0, 8);
const source = `bench-restore-${run}`;
const groupId = `bench-restore-${run}`;
const changelog = `${groupId}-state-changelog`;
const partition = { topic: source, partition: 0 };

/** N keys of window state on partition 0, each written twice. */
async function writeState(): Promise<number> {
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: source, partitions: 2 }] });
  const writer = kafkaCheckpoints({ brokers: kafkaBrokers });
  await writer.prepare({ groupId, topics: [source], transport: 'kafka' });
  await writer.assign([partition]);
  let offset = 0;
  for (let round = 0; round < 2; round++) {
    for (let from = 0; from < KEYS; from += 10_000) {
      const changes = [];
      for (let k = from; k < Math.min(KEYS, from + 10_000); k++) {
        changes.push({
          key: JSON.stringify([0, '60000/10000/0', 'key', `FR/title-${k}`]),
          value: JSON.stringify({ w: [[round * 10_000, k, round + 1]] }),
        });
      }
      offset += changes.length;
      await writer.commit({ ...partition, offset: String(offset), changes, outputs: [] });
    }
  }
  await writer.close();
  return 2 * KEYS;
}

async function backlotRestore(records: number): Promise<Figures> {
  const reader = kafkaCheckpoints({ brokers: kafkaBrokers });
  await reader.prepare({ groupId, topics: [source], transport: 'kafka' });
  const started = performance.now();
  const restored = await reader.assign([partition]);
  const ms = performance.now() - started;
  await reader.close();
  const entries = restored.get(`${source}\u00000`)?.entries.size;
  if (entries !== KEYS) throw new Error(`restored ${entries} of ${KEYS} keys`);
  return { restore_ms: ms, records_per_s: records / (ms / 1000) };
}

async function kafkajsRead(records: number): Promise<Figures> {
  const admin = kafka.admin();
  await admin.connect();
  const end = Number((await admin.fetchTopicOffsets(changelog)).find((p) => p.partition === 0)?.high ?? 0);
  const group = `bench-restore-raw-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 200 });
  const started = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [changelog], fromBeginning: true });
  const latest = new Map<string, string | null>();
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== 0) return;
          for (const m of batch.messages) latest.set(m.key?.toString('utf8') ?? '', m.value?.toString('utf8') ?? null);
          // The end offset counts transaction markers too: done once the last record before it is read.
          if (Number(batch.lastOffset()) + 2 >= end || Number(batch.offsetLag()) <= 1) resolve();
        },
      })
      .catch(reject);
  });
  const ms = performance.now() - started;
  // Every key read back (plus the take-over markers' keys).
  if (latest.size < KEYS) throw new Error(`read ${latest.size} of ${KEYS} keys`);
  await consumer.disconnect();
  await admin.deleteGroups([group]).catch(() => {});
  await admin.disconnect();
  return { restore_ms: ms, records_per_s: records / (ms / 1000) };
}

export default async function eventsRestore() {
  try {
    const records = await writeState();
    return await runBench({
      name: 'events-restore',
      unit: {
        restore_ms: `ms to take over a partition and read back ${KEYS} keys (${2 * KEYS} changelog records) (lower is better)`,
        records_per_s: 'changelog records read per second (higher is better)',
      },
      subjects: {
        'backlot-restore': () => backlotRestore(records),
        'kafkajs-read': () => kafkajsRead(records),
      },
      rounds: 5,
      warmup: 1,
      reference: 'backlot-restore',
    });
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [source, changelog] }).catch(() => {});
    await admin.disconnect();
  }
}
