import { randomBytes, randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  ensureTopics,
  isStateError,
  kafkaCheckpoints,
  kafkaTransport,
  type WindowResult,
} from '../src/index.js';
import { byProfile, events } from './fixtures/catalog.js';
import { trendingWindow } from './fixtures/trending.js';
import { collect, connectAdmin, readTopic, until } from './helpers.js';

// Checkpointed window state on the real broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const run = randomUUID().slice(0, 8);
const topic = `state-${run}`;
const topics: string[] = [topic];
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic, partitions: 3, retentionMs: 3_600_000 }] });
});

afterAll(async () => {
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
});

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const N = 3000;

/** Plays `from`–`to` of N over 5 minutes of event time, 10 titles, 13 profiles; at N, one late play per profile closes every window. */
async function produce(from: number, to: number, into = topic): Promise<void> {
  const transport = kafkaTransport({ brokers: kafkaBrokers });
  const producer = createEventProducer({
    catalog: events,
    source: 'test',
    transport,
    topic: into,
    key: byProfile,
    spool: false,
  });
  for (let seq = from; seq < to; seq++) {
    producer.emit(
      'play.started',
      { profileId: `p${seq % 13}`, titleId: `t${seq % 10}`, country: 'FR', seq },
      { time: new Date(T0 + seq * 100) },
    );
  }
  for (let p = 0; p < (to === N ? 13 : 0); p++) {
    producer.emit(
      'play.started',
      { profileId: `p${p}`, titleId: 'closing', country: 'FR', seq: N + p },
      { time: new Date(T0 + N * 100 + 120_000) },
    );
  }
  await producer.close();
}

function trending(
  groupId: string,
  sink: ReturnType<typeof collect<WindowResult<number>>>,
  from = topic,
  deadLetters = false,
) {
  const pipeline = createPipeline({
    catalog: events,
    transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
    groupId,
    topics: [from],
    commitIntervalMs: 100,
    ...(deadLetters ? {} : { deadLetterTopic: false as const }),
    checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
  });
  pipeline.events('play.started').window(trendingWindow).to(sink);
  return pipeline;
}

const canonical = (results: WindowResult<number>[]) => results.map((r) => `${r.key}@${r.start}:${r.count}`).sort();

describe('checkpointed window state (real broker)', () => {
  it('commits offsets while windows are open, restores them after a restart, and emits each window once', async () => {
    await produce(0, N / 2);
    // A first run over the first half, stopped.
    const groupId = `restart-${run}`;
    topics.push(`${groupId}-state-changelog`);
    const results = collect<WindowResult<number>>();
    const first = trending(groupId, results);
    await first.start();
    await until(() => first.metrics().processed === N / 2, 'the first half processed');
    await first.close();
    expect(first.metrics().checkpoints).toBeGreaterThan(0);
    // Offsets are committed although 60 s windows are open: nothing is held back.
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(N / 2);

    await produce(N / 2, N);
    // Reference: one uninterrupted run over everything.
    const reference = collect<WindowResult<number>>();
    const referenceGroup = `ref-${run}`;
    topics.push(`${referenceGroup}-state-changelog`);
    const one = trending(referenceGroup, reference);
    await one.start();
    await until(() => one.metrics().processed === N + 13, 'the reference run to process every event');
    await one.close();
    expect(reference.flushed.reduce((sum, r) => sum + r.count, 0)).toBe(N * 6);

    // The second run restores the open windows and goes on from the committed offsets.
    const second = trending(groupId, results);
    await second.start();
    await until(() => second.metrics().processed === N / 2 + 13, 'the second run to process the rest');
    await second.close();
    // After the final checkpoint of close().
    const metrics = second.metrics();
    expect(metrics.partitions.length).toBe(3);
    expect(metrics.partitions.some((p) => p.restoredEntries > 0)).toBe(true);
    for (const p of metrics.partitions) {
      expect(p.checkpointOffset).toBeDefined();
      expect(p.lastCheckpointAt).toBeGreaterThan(0);
      expect(p.restoreMs).toBeGreaterThanOrEqual(0);
      expect(p.lag).toBe(0);
    }
    // The closing plays keep one window per title open in each partition: state of a known size.
    expect(metrics.partitions.reduce((sum, p) => sum + p.stateEntries, 0)).toBeGreaterThan(0);
    expect(metrics.partitions.every((p) => p.stateBytes > 0)).toBe(true);
    expect(canonical(results.flushed)).toEqual(canonical(reference.flushed));
  });

  it('hands partitions over with their state when a member joins: the results of one process', async () => {
    const scaleTopic = `scale-${run}`;
    topics.push(scaleTopic);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: scaleTopic, partitions: 3 }] });
    await produce(0, N / 2, scaleTopic);
    const groupId = `scale-${run}`;
    topics.push(`${groupId}-state-changelog`);
    const results = collect<WindowResult<number>>();
    const first = trending(groupId, results, scaleTopic);
    await first.start();
    await until(() => first.metrics().processed === N / 2, 'the first half processed by one member');
    // A second member joins: the first gives up partitions (their last checkpoint), the second restores them.
    const second = trending(groupId, results, scaleTopic);
    await second.start();
    await until(
      () =>
        first.metrics().partitions.length + second.metrics().partitions.length === 3 &&
        second.metrics().partitions.length > 0,
      'the partitions shared by both members',
    );
    expect(second.metrics().partitions.some((p) => p.restoredEntries > 0)).toBe(true);
    await produce(N / 2, N, scaleTopic);
    await until(
      () => first.metrics().processed + second.metrics().processed >= N + 13,
      'the second half processed by both members',
    );
    await second.close();
    await first.close();

    const reference = collect<WindowResult<number>>();
    const referenceGroup = `scale-ref-${run}`;
    topics.push(`${referenceGroup}-state-changelog`);
    const one = trending(referenceGroup, reference, scaleTopic);
    await one.start();
    await until(() => one.metrics().processed === N + 13, 'the reference run');
    await one.close();
    expect(canonical(results.flushed)).toEqual(canonical(reference.flushed));
  });

  it('creates the changelog and dead-letter topics explicitly, and never a missing source topic', async () => {
    const groupId = `topics-${run}`;
    topics.push(`${groupId}-state-changelog`, `${topic}.dead-letter`);
    const pipeline = createPipeline({
      catalog: events,
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      groupId,
      topics: [topic],
      checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
    });
    await pipeline.start();
    await pipeline.close();
    const { topics: found } = await admin.fetchTopicMetadata({
      topics: [`${groupId}-state-changelog`, `${topic}.dead-letter`],
    });
    expect(found.map((t) => [t.name, t.partitions.length]).sort()).toEqual([
      [`${topic}.dead-letter`, 1],
      [`${groupId}-state-changelog`, 3],
    ]);

    const missing = `missing-${run}`;
    const orphan = createPipeline({
      catalog: events,
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      groupId: `missing-${run}`,
      topics: [missing],
      deadLetterTopic: false,
      checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
    });
    const error = await orphan.start().catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_TOPIC_SETUP')).toBe(true);
    expect(String(error)).toMatch(/create them first \(ensureTopics\)/);
    await orphan.close();
    expect(await admin.listTopics()).not.toContain(missing);
  });

  it('checkpoints a state larger than a record batch may be (1 MiB), and restores all of it', async () => {
    const bigTopic = `big-${run}`;
    const groupId = `big-${run}`;
    topics.push(bigTopic, `${groupId}-state-changelog`);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: bigTopic, partitions: 1 }] });
    const keys = 30_000;
    const producer = createEventProducer({
      catalog: events,
      source: 'test',
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      topic: bigTopic,
      spool: false,
    });
    for (let seq = 0; seq < keys; seq++) {
      producer.emit(
        'play.started',
        { profileId: 'p', titleId: randomBytes(60).toString('base64'), country: 'FR', seq },
        { time: new Date(T0) },
      );
    }
    await producer.close();
    const open = () => {
      // One checkpoint for everything (a long interval): 30,000 random keys × 6 windows, several MiB even gzipped.
      const pipeline = createPipeline({
        catalog: events,
        transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
        groupId,
        topics: [bigTopic],
        commitIntervalMs: 600_000,
        deadLetterTopic: false,
        checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
      });
      pipeline.events('play.started').window(trendingWindow).to(collect());
      return pipeline;
    };
    const first = open();
    await first.start();
    await until(() => first.metrics().processed === keys, 'every play');
    await first.close();
    expect(first.metrics()).toMatchObject({ checkpoints: 1, checkpointFailures: 0 });
    expect(first.metrics().partitions[0]?.stateBytes).toBeGreaterThan(1024 * 1024);

    const second = open();
    await second.start();
    await until(() => second.metrics().partitions.length === 1, 'the partition restored');
    await second.close();
    expect(second.metrics().partitions[0]).toMatchObject({ restoredEntries: keys + 1, stateEntries: keys * 6 });
  }, 120_000);

  it('sends a poison message to the dead-letter topic it created, and checkpoints past it', async () => {
    const poisonTopic = `poison-${run}`;
    const groupId = `poison-${run}`;
    topics.push(poisonTopic, `${poisonTopic}.dead-letter`, `${groupId}-state-changelog`);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: poisonTopic, partitions: 3 }] });
    await produce(0, 100, poisonTopic);
    const raw = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
    await raw.connect();
    await raw.send({ topic: poisonTopic, messages: [{ key: 'p1', value: '{"not": "an event"' }] });
    await raw.disconnect();
    await produce(100, 200, poisonTopic);

    const results = collect<WindowResult<number>>();
    const pipeline = trending(groupId, results, poisonTopic, true);
    await pipeline.start();
    await until(() => pipeline.metrics().processed === 200 && pipeline.metrics().deadLettered === 1, 'every event');
    await pipeline.close();
    const deadLetters = readTopic(kafkaBrokers, `${poisonTopic}.dead-letter`);
    expect(deadLetters).toHaveLength(1);
    expect(JSON.parse(deadLetters[0]?.value ?? '{}')).toMatchObject({ stage: 'decode', value: '{"not": "an event"' });
    const committed = await admin.fetchOffsets({ groupId, topics: [poisonTopic] });
    expect(committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(201);
  });

  it('says which topic the broker refuses to create, and why', async () => {
    const error = await ensureTopics({
      brokers: kafkaBrokers,
      topics: [{ topic: `replicated-${run}`, partitions: 1, replicationFactor: 3 }],
    }).catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_TOPIC_SETUP')).toBe(true);
    expect(error).toMatchObject({ topic: `replicated-${run}` });
    expect(String(error)).toMatch(/replication factor is larger than the number of brokers/);
    await expect(ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: 'a b', partitions: 1 }] })).rejects.toThrow(
      /topic must be 1–249 letters, digits/,
    );
  });

  it('refuses to use a changelog topic that is not compacted, naming it and the fix', async () => {
    const groupId = `bad-${run}`;
    const changelogTopic = `${groupId}-not-compacted`;
    topics.push(changelogTopic);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: changelogTopic, partitions: 3 }] });
    const pipeline = createPipeline({
      catalog: events,
      transport: kafkaTransport({ brokers: kafkaBrokers }),
      groupId,
      topics: [topic],
      checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers, changelogTopic }),
    });
    const error = await pipeline.start().catch((e: unknown) => e);
    expect(isStateError(error, 'BACKLOT_EVENTS_TOPIC_SETUP')).toBe(true);
    expect(String(error)).toMatch(/must be compacted \(cleanup.policy=compact\)/);
    await pipeline.close();
  });
});
