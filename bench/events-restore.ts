/**
 * `npm run bench -- events-restore`: how long taking a partition over and
 * restoring its window state from the changelog takes, for K keys updated U
 * times each, on the real Kafka broker, beside a raw kafkajs consumer reading
 * the same changelog partition to its end (the ceiling of any restore on
 * kafkajs that reads every record).
 *
 * Two changelogs (2 partitions, as `kafkaCheckpoints` creates them) get K keys
 * of window state on partition 0 (BENCH_RESTORE_KEYS, default 20,000), each
 * key updated U times (BENCH_RESTORE_UPDATES, default 5: U checkpoints per key,
 * as open windows change), in checkpoint transactions of 10,000 changes:
 *
 * - `events-restore`: the changelog as created by default (10-minute
 *   segments): not compacted yet during the run, every update is read back;
 * - `events-restore-compacted`: a changelog with 1 s segments, read once the
 *   broker's log cleaner has compacted it (the steady state of a changelog
 *   older than its `segment.ms`): about one record per key is left.
 *
 * Each round:
 * - backlot-restore: a fresh `kafkaCheckpoints` store `assign()`s the
 *   partition: the take-over transaction (fencing), a consumer group of its
 *   own assigned that partition only, the changelog read (`read_committed`)
 *   up to the take-over's marker;
 * - kafkajs-read: a raw kafkajs consumer in a fresh group reads the partition
 *   from the beginning to the end offset taken before it starts.
 *
 * Figures: restore_ms (wall time), records_read (changelog records the
 * restore was handed), records_per_s (of them, per second).
 */
import { randomUUID } from 'node:crypto';
import { ensureTopics, kafkaCheckpoints } from '@backlot/events';
import { Kafka, logLevel } from 'kafkajs';
import { serviceEnv } from '../scripts/test-env.ts';
import { type Figures, runBench } from './lib/harness.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const KEYS = Number(process.env.BENCH_RESTORE_KEYS ?? 20_000);
const UPDATES = Number(process.env.BENCH_RESTORE_UPDATES ?? 5);
const { kafkaBrokers } = serviceEnv();
const kafka = new Kafka({ clientId: 'bench-events-restore', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const run = randomUUID().slice(0, 8);
const source = `bench-restore-${run}`;
const partition = { topic: source, partition: 0 };

/** A pipeline's changelog: its group, and the settings its `kafkaCheckpoints` gives it. */
interface Changelog {
  groupId: string;
  topic: string;
  config: Record<string, string> | undefined;
}
const changelogOf = (name: string, config?: Record<string, string>): Changelog => ({
  groupId: `bench-restore-${name}-${run}`,
  topic: `bench-restore-${name}-${run}-state-changelog`,
  config,
});

/** K keys of window state on partition 0, each updated U times. */
async function writeState(changelog: Changelog): Promise<void> {
  const writer = kafkaCheckpoints({ brokers: kafkaBrokers, changelogConfig: changelog.config });
  await writer.prepare({ groupId: changelog.groupId, topics: [source], transport: 'kafka' });
  await writer.assign([partition]);
  let offset = 0;
  for (let round = 0; round < UPDATES; round++) {
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
}

/** Records of `topic`'s partition 0 (read_committed, up to its end offset now), read by a raw kafkajs consumer. */
async function rawCount(topic: string): Promise<number> {
  return (await rawRead(topic)).records;
}

async function backlotRestore(changelog: Changelog): Promise<Figures> {
  let records = Number.NaN;
  const reader = kafkaCheckpoints({
    brokers: kafkaBrokers,
    changelogConfig: changelog.config,
    logger: {
      info: (fields, message) => {
        if (message.includes('read back from the changelog')) records = Number(fields.records);
      },
      warn: () => {},
      error: () => {},
    },
  });
  await reader.prepare({ groupId: changelog.groupId, topics: [source], transport: 'kafka' });
  const started = performance.now();
  const restored = await reader.assign([partition]);
  const ms = performance.now() - started;
  await reader.close();
  const entries = restored.get(`${source}\u00000`)?.entries.size;
  if (entries !== KEYS) throw new Error(`restored ${entries} of ${KEYS} keys`);
  return { restore_ms: ms, records_read: records, records_per_s: records / (ms / 1000) };
}

/** Reads partition 0 of `topic` from the beginning to its end offset with a raw kafkajs consumer. */
async function rawRead(topic: string): Promise<{ ms: number; records: number; keys: number }> {
  const admin = kafka.admin();
  await admin.connect();
  const end = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0)?.high ?? 0);
  const group = `bench-restore-raw-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 200 });
  const started = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const latest = new Map<string, string | null>();
  let records = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== 0) return;
          records += batch.messages.length;
          for (const m of batch.messages) latest.set(m.key?.toString('utf8') ?? '', m.value?.toString('utf8') ?? null);
          // The end offset counts transaction markers too: done once the last record before it is read.
          if (Number(batch.lastOffset()) + 2 >= end || Number(batch.offsetLag()) <= 1) resolve();
        },
      })
      .catch(reject);
  });
  const ms = performance.now() - started;
  await consumer.disconnect();
  await admin.deleteGroups([group]).catch(() => {});
  await admin.disconnect();
  return { ms, records, keys: latest.size };
}

async function kafkajsRead(changelog: Changelog): Promise<Figures> {
  const { ms, records, keys } = await rawRead(changelog.topic);
  // Every key read back (plus the take-over markers' and the offset's keys).
  if (keys < KEYS) throw new Error(`read ${keys} of ${KEYS} keys`);
  return { restore_ms: ms, records_read: records, records_per_s: records / (ms / 1000) };
}

const unit = {
  restore_ms: `ms to take over a partition and read back ${KEYS} keys updated ${UPDATES} times (lower is better)`,
  records_read: 'changelog records read (lower is better: compaction and the marker bound it)',
  records_per_s: 'changelog records read per second (higher is better)',
};

/** Waits until the log cleaner compacted `topic` to about one record per key (at most 3 minutes). */
async function compacted(topic: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const records = await rawCount(topic);
    if (records <= KEYS + 10) return;
    if (Date.now() > deadline) throw new Error(`${topic} still holds ${records} records after 3 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Both subjects on `changelog`, alternating. */
const measure = (name: string, changelog: Changelog) =>
  runBench({
    name,
    unit,
    subjects: { 'backlot-restore': () => backlotRestore(changelog), 'kafkajs-read': () => kafkajsRead(changelog) },
    rounds: 5,
    warmup: 1,
    reference: 'backlot-restore',
  });

export default async function eventsRestore() {
  const fresh = changelogOf('fresh');
  // Segments of 1 s and an eager cleaner: the changelog is compacted within the run, as one
  // older than its segment.ms (10 minutes by default) is.
  const old = changelogOf('old', { 'segment.ms': '1000', 'min.cleanable.dirty.ratio': '0.01' });
  try {
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: source, partitions: 2 }] });
    await writeState(fresh);
    await writeState(old);
    const results = [await measure('events-restore', fresh)];
    // A checkpoint after segment.ms rolls the segment holding every update, and the cleaner can take it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const writer = kafkaCheckpoints({ brokers: kafkaBrokers, changelogConfig: old.config });
    await writer.prepare({ groupId: old.groupId, topics: [source], transport: 'kafka' });
    await writer.assign([partition]);
    await writer.commit({ ...partition, offset: String(KEYS * UPDATES), changes: [], outputs: [] });
    await writer.close();
    await compacted(old.topic);
    results.push(await measure('events-restore-compacted', old));
    return results;
  } finally {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [source, fresh.topic, old.topic] }).catch(() => {});
    await admin.disconnect();
  }
}
