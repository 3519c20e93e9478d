import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  type ConsumedBatch,
  type ConsumedMessage,
  createEventProducer,
  createPipeline,
  type EventsLogger,
  type TransportConsumer,
} from '../src/index.js';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { byProfile, events } from './fixtures/catalog.js';
import { collect, connectAdmin, readTopic, removeTempDirs, tempDir, until } from './helpers.js';

// The @platformatic/kafka transport against the real Kafka broker started by scripts/services.sh.
const { kafkaBrokers } = serviceEnv();
const transport = platformaticKafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 });
const created: string[] = [];
let admin: Admin;

/** A new topic with a unique name, deleted after the tests. */
async function createTopic(partitions: number): Promise<string> {
  const topic = `backlot-platformatic-${randomUUID()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  created.push(topic);
  return topic;
}

/** Sends messages `from`..`to - 1` (values `m<n>`, keys spread over the partitions) through the transport. */
async function send(topic: string, from: number, to: number): Promise<void> {
  const producer = transport.producer();
  const messages = Array.from({ length: to - from }, (_, i) => ({
    key: `k${(from + i) % 11}`,
    value: Buffer.from(`m${from + i}`),
    timestamp: Date.now(),
  }));
  await producer.send(topic, messages);
  await producer.close();
}

/** The group's committed offset per partition that holds messages (-1: none). */
async function committed(groupId: string, topic: string): Promise<Map<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const used = await ends(topic);
  return new Map(offsets?.partitions.filter((p) => used.has(p.partition)).map((p) => [p.partition, Number(p.offset)]));
}

/** The end offset (next offset to be written) of each partition of `topic` that holds messages. */
async function ends(topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.filter((p) => Number(p.high) > 0).map((p) => [p.partition, Number(p.high)]));
}

const textOf = (m: ConsumedMessage): string => m.value?.toString() ?? '';

interface Member {
  consumer: TransportConsumer;
  /** Messages of every batch the handler finished, in delivery order. */
  received: ConsumedMessage[];
  batches: ConsumedBatch[];
  /** Every assignment onAssign reported, oldest first. */
  assignments: { topic: string; partition: number }[][];
}

/** A member of `groupId` on the platformatic transport; with `commitEach`, it commits every batch it handled. */
async function join(
  groupId: string,
  topic: string,
  options: { commitEach?: boolean; handler?: (batch: ConsumedBatch) => Promise<void> } = {},
): Promise<Member> {
  const consumer = transport.consumer({ groupId });
  const member: Member = { consumer, received: [], batches: [], assignments: [] };
  await consumer.run({
    topics: [topic],
    fromBeginning: true,
    onAssign: (partitions) => member.assignments.push(partitions),
    handler: async (batch) => {
      await options.handler?.(batch);
      if (options.commitEach) {
        const last = batch.messages[batch.messages.length - 1] as ConsumedMessage;
        await consumer.commit([
          { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
        ]);
      }
      member.batches.push(batch);
      member.received.push(...batch.messages);
    },
  });
  return member;
}

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: created }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

describe('platformaticKafkaTransport', () => {
  it('rejects bad options, naming the field', () => {
    expect(() => platformaticKafkaTransport({ brokers: [] })).toThrow(/brokers/);
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'], producerConnections: 0 })).toThrow(
      /producerConnections/,
    );
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'], maxWaitTimeMs: 0 })).toThrow(
      /maxWaitTimeMs must be positive/,
    );
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'], sessionTimeoutMs: 1.5 })).toThrow(
      /sessionTimeoutMs must be an integer/,
    );
    expect(() => platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'], logger: {} as EventsLogger })).toThrow(
      /logger must have info/,
    );
  });

  it('produces keyed events that kcat reads back: every event, each key in its kafkajs partition, in emit order', async () => {
    const PARTITIONS = 3;
    const topic = await createTopic(PARTITIONS);
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

    const rows = readTopic(kafkaBrokers, topic).map((row) => ({ ...row, event: events.decode(row.value) }));
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

  it('runs a pipeline on it: every event a producer emitted is processed, once after de-duplication, and committed', async () => {
    const topic = await createTopic(3);
    const N = 2000;
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport,
      topic,
      key: byProfile,
      spool: { dir: tempDir() },
      batch: { maxEvents: 300 },
    });
    const sent = new Set<string>();
    for (let seq = 0; seq < N; seq++) {
      const profileId = `p${seq % 13}`;
      sent.add(producer.emitEnvelope('play.started', { profileId, titleId: `t${seq % 5}`, country: 'FR', seq }).id);
    }
    await producer.close();

    const groupId = `pipeline-${randomUUID()}`;
    const ids = collect<string>();
    const pipeline = createPipeline({ catalog: events, transport, groupId, topics: [topic], commitIntervalMs: 200 });
    pipeline
      .events()
      .map((e) => e.id)
      .to(ids);
    await pipeline.start();
    await until(() => new Set(ids.flushed).size === N, `${N} events flushed`);
    await pipeline.close();

    expect(new Set(ids.flushed)).toEqual(sent);
    const metrics = pipeline.metrics();
    expect(metrics.processed).toBeGreaterThanOrEqual(N);
    expect(metrics.deadLettered).toBe(0);
    expect(metrics.lag).toBe(0); // known, and nothing left behind
    expect(await committed(groupId, topic)).toEqual(await ends(topic)); // everything, once the sink flushed
  });

  it('commits only through commit(): what a closed member did not commit goes to the next member, what it committed does not', async () => {
    const topic = await createTopic(3);
    await send(topic, 0, 30);
    const groupId = `commits-${randomUUID()}`;
    const first = Array.from({ length: 30 }, (_, i) => `m${i}`).sort();

    // A member consumes everything and closes without committing: it leaves the group, nothing is committed.
    const a = await join(groupId, topic);
    await until(() => a.received.length >= 30, 'the first member to get every message');
    await a.consumer.close();
    const handledByA = a.received.length;
    const [group] = (await admin.describeGroups([groupId])).groups;
    expect(group?.members).toEqual([]);
    expect([...(await committed(groupId, topic)).values()].every((offset) => offset === -1)).toBe(true);
    expect(a.received.map(textOf).sort()).toEqual(first);

    // The next member of the group gets all of them again, batches per partition in offset order, with their lag.
    const b = await join(groupId, topic);
    await until(() => b.received.length >= 30, 'the second member to get every message again');
    expect(b.received.map(textOf).sort()).toEqual(first);
    const end = await ends(topic);
    for (const batch of b.batches) {
      const offsets = batch.messages.map((m) => Number(m.offset));
      expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
      expect(batch.messages.every((m) => m.topic === topic && m.partition === batch.partition)).toBe(true);
      expect(batch.lag).toBe((end.get(batch.partition) as number) - (offsets[offsets.length - 1] as number) - 1);
    }
    await b.consumer.commit([...end].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })));
    await b.consumer.close();
    expect(await committed(groupId, topic)).toEqual(end);

    // After the commit, a new member starts where it points: only newer messages.
    await send(topic, 30, 40);
    const c = await join(groupId, topic);
    await until(() => c.received.length >= 10, 'the third member to get the newer messages');
    await c.consumer.close();
    expect(c.received.map(textOf).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${30 + i}`).sort());
    for (const [partition, offset] of end) {
      const firstOffset = c.received.find((m) => m.partition === partition)?.offset;
      if (firstOffset !== undefined) expect(Number(firstOffset)).toBe(offset);
    }
    // Closed members were handed nothing more.
    expect(a.received).toHaveLength(handledByA);
  });

  it('delivers a batch again when its handler throws, and nothing after it in its partition first', async () => {
    const topic = await createTopic(3);
    await send(topic, 0, 60);
    const warnings: Record<string, unknown>[] = [];
    const logger: EventsLogger = { info() {}, warn: (object) => warnings.push(object), error() {} };
    const failing = platformaticKafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100, logger });
    const failed = new Set<number>();
    const handled = new Map<number, number[]>();
    const consumer = failing.consumer({ groupId: `failures-${randomUUID()}` });
    await consumer.run({
      topics: [topic],
      fromBeginning: true,
      handler: async (batch) => {
        // The first batch of each partition fails once.
        if (!failed.has(batch.partition)) {
          failed.add(batch.partition);
          throw new Error(`sink unavailable for partition ${batch.partition}`);
        }
        const offsets = handled.get(batch.partition) ?? [];
        offsets.push(...batch.messages.map((m) => Number(m.offset)));
        handled.set(batch.partition, offsets);
      },
    });
    await until(() => [...handled.values()].reduce((sum, o) => sum + o.length, 0) >= 60, 'every message handled');
    await consumer.close();

    expect(failed.size).toBe(3);
    // Each partition handled from its first offset, without a gap or a repeat.
    for (const offsets of handled.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
    expect(warnings.filter((w) => w.transport === 'platformatic-kafka')).toHaveLength(3);
  });

  it('shares the partitions between two members of a group (onAssign), without losing or repeating committed work', async () => {
    const topic = await createTopic(4);
    const groupId = `shared-${randomUUID()}`;
    const a = await join(groupId, topic, { commitEach: true });
    expect(
      a.assignments
        .at(-1)
        ?.map((p) => p.partition)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
    await send(topic, 0, 40);
    await until(() => a.received.length >= 40, 'the first member to handle and commit the first messages');

    const b = await join(groupId, topic, { commitEach: true });
    const owned = (m: Member) => new Set(m.assignments.at(-1)?.map((p) => p.partition));
    await until(
      () => owned(a).size > 0 && owned(b).size > 0 && owned(a).size + owned(b).size === 4,
      'a new assignment',
    );
    expect(new Set([...owned(a), ...owned(b)])).toEqual(new Set([0, 1, 2, 3]));
    expect(a.assignments.length).toBeGreaterThanOrEqual(2);
    const before = a.received.length;

    await send(topic, 40, 80);
    await until(() => a.received.length - before + b.received.length >= 40, 'the newer messages to be handled');
    await Promise.all([a.consumer.close(), b.consumer.close()]);

    // Every message handled once, by the member owning its partition; committed ones never again.
    const all = [...a.received, ...b.received].map(textOf).sort();
    expect(all).toEqual(Array.from({ length: 80 }, (_, i) => `m${i}`).sort());
    expect(b.received.every((m) => owned(b).has(m.partition))).toBe(true);
    expect(a.received.slice(before).every((m) => owned(a).has(m.partition))).toBe(true);
    expect(b.received.length).toBeGreaterThan(0);
    expect(await committed(groupId, topic)).toEqual(await ends(topic));
  });

  it('loses nothing while members join and leave the group under load', async () => {
    const topic = await createTopic(6);
    const groupId = `busy-${randomUUID()}`;
    const producer = transport.producer();
    let sent = 0;
    let producing = true;
    const load = (async () => {
      while (producing) {
        const messages = Array.from({ length: 50 }, (_, i) => ({
          key: `k${sent + i}`,
          value: Buffer.from(`m${sent + i}`),
          timestamp: Date.now(),
        }));
        await producer.send(topic, messages);
        sent += messages.length;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const a = await join(groupId, topic, { commitEach: true });
    await until(() => a.received.length > 500, 'the first member to be busy');
    const b = await join(groupId, topic, { commitEach: true });
    await until(() => b.received.length > 500, 'the second member to be busy');
    await a.consumer.close();
    const c = await join(groupId, topic, { commitEach: true });
    await until(() => c.received.length > 500, 'the third member to be busy');
    producing = false;
    await load;
    await producer.close();
    const handled = () => new Set([...a.received, ...b.received, ...c.received].map(textOf));
    await until(() => handled().size === sent, 'every message handled');
    await Promise.all([b.consumer.close(), c.consumer.close()]);

    expect(handled()).toEqual(new Set(Array.from({ length: sent }, (_, i) => `m${i}`)));
    expect(await committed(groupId, topic)).toEqual(await ends(topic));
  }, 60_000);
});
