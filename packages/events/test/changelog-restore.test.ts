import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { CHANGELOG_TOPIC_CONFIG, type EventsLogger, ensureTopics, kafkaCheckpoints } from '../src/index.js';
import { connectAdmin, readTopicAsync, topicConfigs, until } from './helpers.js';

// Changelog topics and restores on the real broker: the topic settings as Kafka's own
// kafka-configs prints them, the records a restore reads counted against kcat's.
const { kafkaBrokers } = serviceEnv();
const run = randomUUID().slice(0, 8);
const topics: string[] = [];
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
});

afterAll(async () => {
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

/** A source topic of `partitions` and the group that reads it (its changelog is `<group>-state-changelog`). */
async function source(name: string, partitions: number) {
  const topic = `${name}-${run}`;
  const groupId = `${name}-${run}`;
  topics.push(topic, `${groupId}-state-changelog`);
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic, partitions }] });
  return { topic, groupId, changelog: `${groupId}-state-changelog` };
}

/** A logger keeping what `kafkaCheckpoints` says about each restore. */
function restoreLog() {
  const restores: { records: number }[] = [];
  const logger: EventsLogger = {
    info: (object, message) => {
      if (message.includes('read back from the changelog')) restores.push(object as { records: number });
    },
    warn: () => {},
    error: () => {},
  };
  return { logger, restores };
}

/** `updates` checkpoints of partition `partition`, each changing every one of `keys` keys; returns the last values. */
async function writeState(
  store: ReturnType<typeof kafkaCheckpoints>,
  topic: string,
  partition: number,
  keys: number,
  updates: number,
): Promise<Map<string, string>> {
  const latest = new Map<string, string>();
  for (let u = 0; u < updates; u++) {
    const changes = [];
    for (let k = 0; k < keys; k++) {
      const value = JSON.stringify({ partition, key: k, update: u });
      changes.push({ key: `k${k}`, value });
      latest.set(`k${k}`, value);
    }
    await store.commit({ topic, partition, offset: String((u + 1) * keys), changes, outputs: [] });
  }
  return latest;
}

describe('changelog topics and restores (kafkaCheckpoints)', () => {
  it('creates the changelog with compaction settings that keep it short, as kafka-configs shows', async () => {
    const { topic, groupId, changelog } = await source('cl-settings', 2);
    const store = kafkaCheckpoints({ brokers: kafkaBrokers });
    await store.prepare({ groupId, topics: [topic], transport: 'kafka' });
    await store.close();
    const configs = await topicConfigs(kafkaBrokers, changelog);
    expect(configs).toMatchObject({
      'cleanup.policy': 'compact',
      'segment.ms': '600000',
      'segment.bytes': '67108864',
      'min.cleanable.dirty.ratio': '0.1',
      'delete.retention.ms': '3600000',
    });
    expect(configs).toMatchObject(CHANGELOG_TOPIC_CONFIG);
  }, 120_000);

  it('gives an existing changelog the settings it lacks, and keeps those set on it', async () => {
    const { topic, groupId } = await source('cl-existing', 2);
    const changelogTopic = `cl-existing-own-${run}`;
    topics.push(changelogTopic);
    // Made before these settings existed, with a setting of its operator's.
    await ensureTopics({
      brokers: kafkaBrokers,
      topics: [{ topic: changelogTopic, partitions: 2, compact: true, retentionMs: 123_456_789 }],
    });
    const store = kafkaCheckpoints({
      brokers: kafkaBrokers,
      changelogTopic,
      changelogConfig: { 'segment.ms': '120000' },
    });
    await store.prepare({ groupId, topics: [topic], transport: 'kafka' });
    await store.close();
    // A later start with the default segment.ms: the topic's own value stays.
    const again = kafkaCheckpoints({ brokers: kafkaBrokers, changelogTopic });
    await again.prepare({ groupId, topics: [topic], transport: 'kafka' });
    await again.close();
    expect(await topicConfigs(kafkaBrokers, changelogTopic)).toEqual({
      'cleanup.policy': 'compact',
      'retention.ms': '123456789',
      'segment.ms': '120000',
      'segment.bytes': '67108864',
      'min.cleanable.dirty.ratio': '0.1',
      'delete.retention.ms': '3600000',
    });
  }, 120_000);

  it('starts with an existing changelog whose settings the broker refuses, saying which command sets them', async () => {
    const { topic, groupId } = await source('cl-refused', 1);
    const changelogTopic = `cl-refused-own-${run}`;
    topics.push(changelogTopic);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: changelogTopic, partitions: 1, compact: true }] });
    const warnings: string[] = [];
    const store = kafkaCheckpoints({
      brokers: kafkaBrokers,
      changelogTopic,
      // Not a ratio: the broker refuses it (INVALID_CONFIG).
      changelogConfig: { 'min.cleanable.dirty.ratio': '7' },
      logger: { info: () => {}, warn: (_fields, message) => warnings.push(message), error: () => {} },
    });
    await store.prepare({ groupId, topics: [topic], transport: 'kafka' });
    const restored = await store.assign([{ topic, partition: 0 }]);
    await store.close();
    expect(restored.get(`${topic}\u00000`)).toEqual({ entries: new Map(), offset: undefined });
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `kafka-configs --alter --entity-type topics --entity-name ${changelogTopic} --add-config .*min\\.cleanable\\.dirty\\.ratio=7`,
        ),
      ),
    ]);
    expect(await topicConfigs(kafkaBrokers, changelogTopic)).toEqual({ 'cleanup.policy': 'compact' });
  }, 120_000);

  it('names the field and the fix of a changelogConfig that is not a changelog’s', () => {
    expect(() => kafkaCheckpoints({ brokers: kafkaBrokers, changelogConfig: { 'cleanup.policy': 'delete' } })).toThrow(
      /changelogConfig\['cleanup.policy'\] must include 'compact'/,
    );
    expect(() =>
      kafkaCheckpoints({ brokers: kafkaBrokers, changelogConfig: { 'segment.ms': 60_000 as unknown as string } }),
    ).toThrow(/changelogConfig values are strings/);
  });

  it('reads only the partitions it restores, and stops at their end: as many records as kcat counts there', async () => {
    const { topic, groupId, changelog } = await source('cl-partitions', 3);
    const writer = kafkaCheckpoints({ brokers: kafkaBrokers });
    await writer.prepare({ groupId, topics: [topic], transport: 'kafka' });
    await writer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    const latest = await writeState(writer, topic, 0, 20, 5);
    await writeState(writer, topic, 1, 200, 5);
    await writeState(writer, topic, 2, 200, 5);
    await writer.close();

    const { logger, restores } = restoreLog();
    const reader = kafkaCheckpoints({ brokers: kafkaBrokers, logger });
    await reader.prepare({ groupId, topics: [topic], transport: 'kafka' });
    const restored = await reader.assign([{ topic, partition: 0 }]);
    await reader.close();

    const entries = restored.get(`${topic}\u00000`)?.entries;
    expect(Object.fromEntries(entries ?? [])).toEqual(Object.fromEntries(latest));
    const onPartition = (await readTopicAsync(kafkaBrokers, changelog, { readCommitted: true })).reduce(
      (counts, record) => counts.set(record.partition, (counts.get(record.partition) ?? 0) + 1),
      new Map<number, number>(),
    );
    // Partition 0: 5 checkpoints of 20 keys and an offset each, two take-over markers; up to its end, no further.
    expect(onPartition.get(0)).toBe(5 * 21 + 2);
    expect(restores).toEqual([expect.objectContaining({ records: onPartition.get(0) })]);
    // Nothing of partitions 1 and 2 (2,000 records) was fetched.
    expect((onPartition.get(1) ?? 0) + (onPartition.get(2) ?? 0)).toBe(2 * (5 * 201 + 1));
  }, 120_000);

  it('reads about one record per key once the changelog is compacted, however many updates it had', async () => {
    const { topic, groupId, changelog } = await source('cl-compacted', 1);
    const keys = 40;
    const updates = 25;
    // Short segments and an eager cleaner, so the test sees a compaction within the broker's cleaner backoff.
    const options = {
      brokers: kafkaBrokers,
      changelogConfig: { 'segment.ms': '1000', 'min.cleanable.dirty.ratio': '0.01' },
    };
    const writer = kafkaCheckpoints(options);
    await writer.prepare({ groupId, topics: [topic], transport: 'kafka' });
    await writer.assign([{ topic, partition: 0 }]);
    const latest = await writeState(writer, topic, 0, keys, updates);
    // One more checkpoint after segment.ms: the segment holding every update rolls, and can be cleaned.
    await sleep(1500);
    await writer.commit({ topic, partition: 0, offset: String(keys * updates + 1), changes: [], outputs: [] });
    await writer.close();
    const countOnBroker = async () => (await readTopicAsync(kafkaBrokers, changelog, { readCommitted: true })).length;
    // 25 × 41 records before the cleaner ran: wait until it has (its backoff is 15 s by default).
    await until(async () => (await countOnBroker()) <= keys + 10, 'the log cleaner to compact the changelog', 120_000);

    const { logger, restores } = restoreLog();
    const reader = kafkaCheckpoints({ ...options, logger });
    await reader.prepare({ groupId, topics: [topic], transport: 'kafka' });
    const restored = await reader.assign([{ topic, partition: 0 }]);
    await reader.close();
    expect(Object.fromEntries(restored.get(`${topic}\u00000`)?.entries ?? [])).toEqual(Object.fromEntries(latest));
    expect(restored.get(`${topic}\u00000`)?.offset).toBe(String(keys * updates + 1));
    // Each key once, the offset and the markers: not the 1,000 updates written.
    const read = restores[0]?.records ?? Number.NaN;
    expect(read).toBeLessThanOrEqual(keys + 10);
    expect(read).toBeGreaterThanOrEqual(keys);
  }, 180_000);
});
