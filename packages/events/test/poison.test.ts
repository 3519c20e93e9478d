import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { type Admin, ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  DEAD_LETTER_HEADERS,
  type DeadLetter,
  type EventCatalog,
  type EventProducer,
  type EventProducerOptions,
  isEventsRefusedError,
  isEventTooLargeError,
  kafkaTransport,
  readDeadLetters,
  type Transport,
} from '../src/index.js';
import { platformaticKafkaTransport } from '../src/platformatic.js';
import { Spool } from '../src/spool/spool.js';
import { byProfile, events } from './fixtures/catalog.js';
import { connectAdmin, readTopic, removeTempDirs, tempDir, until } from './helpers.js';

const { kafkaBrokers: brokers } = serviceEnv();

type Defs = typeof events extends EventCatalog<infer D> ? D : never;

/** Both Kafka transports: idempotent producers over `producerConnections` connections. */
const transports: Record<string, (producerConnections?: number) => Transport> = {
  kafkajs: (producerConnections) => kafkaTransport({ brokers, producerConnections }),
  platformatic: (producerConnections) => platformaticKafkaTransport({ brokers, producerConnections }),
};

// Poison events against the real broker: a topic with a small max.message.bytes stands in for
// multi-MiB payloads. Every topic is counted from outside with kcat.
const LIMIT = 16_384;
const topics: string[] = [];
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(brokers);
});

afterAll(async () => {
  await admin?.deleteTopics({ topics }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

async function createTopic(maxMessageBytes?: number): Promise<string> {
  const topic = `poison-${randomUUID()}`;
  topics.push(topic);
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 3,
        ...(maxMessageBytes ? { configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] } : {}),
      },
    ],
    waitForLeaders: true,
  });
  return topic;
}

async function topicLimit(topic: string): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
  });
  return Number(resources[0]?.configEntries[0]?.configValue);
}

/** Good events: `emitGood(n)` emits the next `n` (keys over 7 profiles), `good` holds their ids in emit order. */
function goodEvents(producer: EventProducer<Defs>) {
  const good: string[] = [];
  const emitGood = (count: number) => {
    for (let i = 0; i < count; i++) {
      const seq = good.length;
      good.push(
        producer.emitEnvelope('play.started', { profileId: `p${seq % 7}`, titleId: 't', country: 'FR', seq }).id,
      );
    }
  };
  return { good, emitGood };
}

/** Lowers the topic's `max.message.bytes` to {@link LIMIT} (under a producer that learnt the old one) and waits until it applies. */
async function lowerLimit(topic: string): Promise<void> {
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }],
      },
    ],
  });
  await until(async () => (await topicLimit(topic)) === LIMIT, 'the lower limit to apply');
}

/** A query of `bytes` incompressible characters: larger than the topic accepts, even gzipped. */
const poisonQuery = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');

/** Ids read back from the topic by kcat, with how often each was written. */
function idsInTopic(topic: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of readTopic(brokers, topic)) {
    const id = events.decode(message.value).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('poison events never stop the producer', () => {
  it.each(Object.keys(transports))(
    '%s: refuses an event larger than the topic accepts at emit(), with a typed error, using the limit read from the broker',
    async (name) => {
      const topic = await createTopic(LIMIT);
      const producer = createEventProducer({
        catalog: events,
        source: 'play-api',
        transport: (transports[name] as () => Transport)(),
        topic,
        key: byProfile,
        spool: { dir: tempDir() },
      });
      const good: string[] = [];
      const emitGood = (count: number) => {
        for (let i = 0; i < count; i++) {
          good.push(producer.emitEnvelope('search.performed', { profileId: `p${i % 5}`, query: `q${i}` }).id);
        }
      };
      emitGood(50);
      await producer.flush({ timeoutMs: 30_000 });
      let thrown: unknown;
      try {
        producer.emit('search.performed', { profileId: 'p1', query: poisonQuery(LIMIT * 2) });
      } catch (error) {
        thrown = error;
      }
      expect(isEventTooLargeError(thrown)).toBe(true);
      expect(thrown).toMatchObject({ code: 'BACKLOT_EVENT_TOO_LARGE', topic, limit: LIMIT });
      emitGood(50);
      await producer.flush({ timeoutMs: 30_000 });
      const metrics = producer.metrics();
      await producer.close();
      expect(metrics).toMatchObject({ emitted: 100, invalid: 1, sent: 100, deadLettered: 0, failedBatches: 0 });
      const written = idsInTopic(topic);
      expect([...written.keys()].sort()).toEqual([...good].sort());
      expect([...written.values()].every((count) => count === 1)).toBe(true);
    },
    60_000,
  );

  for (const [name, transport] of Object.entries(transports))
    for (const producerConnections of [1, 4]) {
      it(`${name}: isolates a poison event the broker refuses in a multi-partition batch (the limit lowered under the producer; ${producerConnections} connection(s)): good events flow, the poison is dead-lettered once, every good id is written exactly once`, async () => {
        const topic = await createTopic();
        const spoolDir = tempDir();
        const logged: { msg: string; obj: Record<string, unknown> }[] = [];
        const log = (obj: Record<string, unknown>, msg: string) => logged.push({ msg, obj });
        const producer = createEventProducer({
          catalog: events,
          source: 'play-api',
          transport: transport(producerConnections),
          topic,
          key: byProfile,
          spool: { dir: spoolDir },
          retry: { initialDelayMs: 50, maxDelayMs: 500 },
          logger: { info: log, warn: log, error: log },
        });
        const { good, emitGood } = goodEvents(producer);
        emitGood(300);
        await producer.flush({ timeoutMs: 30_000 });
        // The topic's limit drops below the next event's size after the producer learnt it.
        await lowerLimit(topic);
        emitGood(200);
        const poison = producer.emitEnvelope(
          'search.performed',
          { profileId: 'p3', query: poisonQuery(LIMIT * 3) },
          { key: 'p3' },
        ).id;
        emitGood(300);
        await producer.flush({ timeoutMs: 60_000 });
        // The next oversize event is refused at emit(): the producer read the lower limit again.
        await until(() => {
          try {
            producer.emit('search.performed', { profileId: 'p3', query: poisonQuery(LIMIT * 3) });
            throw new Error('an oversize event was accepted after the broker refused one');
          } catch (error) {
            if (isEventTooLargeError(error)) return true;
            throw error;
          }
        }, 'the lower limit to be checked at emit()');
        emitGood(200);
        await producer.flush({ timeoutMs: 30_000 });
        const metrics = producer.metrics();
        await producer.close();

        expect(metrics).toMatchObject({ emitted: 1001, sent: 1000, deadLettered: 1, spoolPending: 0, dropped: 0 });
        const letters = readDeadLetters(spoolDir);
        expect(letters).toHaveLength(1);
        expect(letters[0]).toMatchObject({ topic, key: 'p3', code: 'MESSAGE_TOO_LARGE' });
        expect(events.decode((letters[0] as { value: Buffer }).value).id).toBe(poison);
        expect(logged.filter((line) => line.msg.includes('dead-lettered'))).toHaveLength(1);

        const written = idsInTopic(topic);
        expect(written.has(poison)).toBe(false);
        expect([...written.keys()].sort()).toEqual([...good].sort());
        // Idempotence held: no good event was written twice, on any connection.
        expect([...written.entries()].filter(([, count]) => count !== 1)).toEqual([]);
      }, 120_000);
    }

  it('replays a spool holding a poison record: the poison is dead-lettered once, never replayed again, and the good records go through exactly once', async () => {
    const topic = await createTopic(LIMIT);
    const spoolDir = tempDir();
    // A previous process spooled a poison record between good ones (e.g. before the limit was lowered).
    const spool = Spool.open({ dir: spoolDir, maxBytes: 1024 ** 3, segmentBytes: 1024 ** 2, fsync: false });
    const good: string[] = [];
    const record = (payload: { profileId: string; query: string }) => {
      const envelope = events.envelope('search.performed', payload, { source: 'play-api' });
      return {
        id: envelope.id,
        record: { topic, key: payload.profileId, value: events.encode(envelope), timestamp: Date.now() },
      };
    };
    for (let i = 0; i < 400; i++) {
      if (i === 150) {
        spool.append([record({ profileId: 'p1', query: poisonQuery(LIMIT * 2) }).record]);
        continue;
      }
      const { id, record: r } = record({ profileId: `p${i % 5}`, query: `q${i}` });
      good.push(id);
      spool.append([r]);
    }
    spool.close();

    const start = () =>
      createEventProducer({
        catalog: events,
        source: 'play-api',
        transport: kafkaTransport({ brokers }),
        topic,
        spool: { dir: spoolDir },
        retry: { initialDelayMs: 50, maxDelayMs: 500 },
      });
    const first = start();
    await first.flush({ timeoutMs: 60_000 });
    const firstMetrics = first.metrics();
    await first.close();
    expect(firstMetrics).toMatchObject({ replayed: 399, deadLettered: 1, spoolPending: 0 });

    const second = start();
    expect(second.metrics().spoolPending).toBe(0);
    await second.flush({ timeoutMs: 30_000 });
    const secondMetrics = second.metrics();
    await second.close();
    expect(secondMetrics).toMatchObject({ replayed: 0, deadLettered: 0, sent: 0 });

    expect(readDeadLetters(spoolDir)).toHaveLength(1);
    const written = idsInTopic(topic);
    expect([...written.keys()].sort()).toEqual([...good].sort());
    expect([...written.values()].every((count) => count === 1)).toBe(true);
  }, 120_000);

  /** A producer of `topic` that learnt its (default) limit, then the limit is lowered: the next oversize event reaches the broker. */
  async function poisonable(topic: string, options: Partial<EventProducerOptions<Defs>>) {
    const producer = createEventProducer({
      catalog: events,
      source: 'play-api',
      transport: kafkaTransport({ brokers }),
      topic,
      key: byProfile,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
      ...options,
    });
    const { good, emitGood } = goodEvents(producer);
    emitGood(100);
    await producer.flush({ timeoutMs: 30_000 });
    await lowerLimit(topic);
    emitGood(100);
    const poison = producer.emitEnvelope('search.performed', { profileId: 'p3', query: poisonQuery(LIMIT * 3) }).id;
    emitGood(100);
    return { producer, good, poison, emitGood };
  }

  it('routes a refused event to the dead-letter topic it creates (partitions, retention, size limit as configured), with headers saying why; kcat counts it once', async () => {
    const topic = await createTopic();
    const deadLetterTopic = `${topic}.dead-letter`;
    topics.push(deadLetterTopic);
    const logged: string[] = [];
    const log = (_obj: Record<string, unknown>, msg: string) => logged.push(msg);
    const { producer, good, poison } = await poisonable(topic, {
      spool: false,
      deadLetter: { topic: deadLetterTopic, partitions: 2, retentionMs: 3_600_000 },
      logger: { info: log, warn: log, error: log },
    });
    await producer.flush({ timeoutMs: 60_000 });
    const metrics = producer.metrics();
    await producer.close();
    expect(metrics).toMatchObject({ emitted: 301, sent: 300, deadLettered: 1, deadLetterPublished: 1, dropped: 0 });
    expect(logged.filter((msg) => msg.includes('written to the dead-letter topic'))).toHaveLength(1);

    const written = idsInTopic(topic);
    expect([...written.keys()].sort()).toEqual([...good].sort());
    expect([...written.values()].every((count) => count === 1)).toBe(true);
    // Counted from outside: the dead-letter topic holds the poison event once, headers included.
    const out = execFileSync(
      'kcat',
      ['-C', '-b', brokers[0] as string, '-t', deadLetterTopic, '-o', 'beginning', '-e', '-q', '-f', '%h\t%s\n'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
      .trim()
      .split('\n');
    expect(out).toHaveLength(1);
    const [headers, value] = (out[0] as string).split('\t') as [string, string];
    const decoded = events.decode(value);
    expect(decoded.id).toBe(poison);
    expect(headers).toContain(`${DEAD_LETTER_HEADERS.code}=MESSAGE_TOO_LARGE`);
    expect(headers).toContain(`${DEAD_LETTER_HEADERS.topic}=${topic}`);
    // Which event and version it was, without decoding the value.
    expect(headers).toContain(`${DEAD_LETTER_HEADERS.event}=${decoded.name}`);
    expect(headers).toContain(`${DEAD_LETTER_HEADERS.version}=${decoded.version}`);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [deadLetterTopic] })).topics;
    expect(metadata?.partitions).toHaveLength(2);
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: deadLetterTopic, configNames: ['retention.ms', 'max.message.bytes'] },
      ],
    });
    const config = Object.fromEntries(resources[0]?.configEntries.map((e) => [e.configName, e.configValue]) ?? []);
    expect(config).toEqual({ 'retention.ms': '3600000', 'max.message.bytes': String(8 * 1024 * 1024) });
  }, 120_000);

  it('without a dead-letter topic, spool or callback, flush() rejects with the refused events (never only logged); with onDeadLetter, the callback has them', async () => {
    const topic = await createTopic();
    const { producer, poison } = await poisonable(topic, { spool: false });
    let thrown: unknown;
    try {
      await producer.flush({ timeoutMs: 60_000 });
    } catch (error) {
      thrown = error;
    }
    expect(isEventsRefusedError(thrown)).toBe(true);
    const letters = (thrown as { letters: DeadLetter[] }).letters;
    expect(letters.map((letter) => events.decode(letter.value).id)).toEqual([poison]);
    expect(letters[0]).toMatchObject({ topic, code: 'MESSAGE_TOO_LARGE' });
    // Reported once: the next flush has nothing to say.
    await producer.flush({ timeoutMs: 30_000 });
    await producer.close();

    const other = await createTopic();
    const handed: DeadLetter[] = [];
    const withCallback = await poisonable(other, { spool: false, onDeadLetter: (l) => handed.push(...l) });
    await withCallback.producer.flush({ timeoutMs: 60_000 });
    await withCallback.producer.close();
    expect(handed.map((letter) => events.decode(letter.value).id)).toEqual([withCallback.poison]);
  }, 120_000);

  it.each(Object.keys(transports))(
    '%s: a topic that cannot be created is dead-lettered (UNKNOWN_TOPIC_OR_PARTITION) after the bounded attempts, not retried as an outage; other topics flow on',
    async (name) => {
      // On this broker auto-creation is on; a name that collides with an existing topic ('.' vs '_') can never be created.
      const base = `poison_${randomUUID()}`;
      topics.push(base);
      await admin.createTopics({ topics: [{ topic: base, numPartitions: 3 }], waitForLeaders: true });
      const missing = base.replace('_', '.');
      const good = await createTopic();
      const spoolDir = tempDir();
      const producer: EventProducer<Defs> = createEventProducer({
        catalog: events,
        source: 'play-api',
        transport: (transports[name] as () => Transport)(),
        topic: (event) => (event.name === 'search.performed' ? missing : good),
        key: byProfile,
        spool: { dir: spoolDir },
        retry: { initialDelayMs: 50, maxDelayMs: 500 },
      });
      const goodIds: string[] = [];
      const lostIds: string[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 30 === 7)
          lostIds.push(producer.emitEnvelope('search.performed', { profileId: 'p1', query: `q${i}` }).id);
        else
          goodIds.push(
            producer.emitEnvelope('play.started', { profileId: `p${i % 7}`, titleId: 't', country: 'FR', seq: i }).id,
          );
      }
      await producer.flush({ timeoutMs: 60_000 });
      const metrics = producer.metrics();
      await producer.close();
      expect(metrics).toMatchObject({
        emitted: 300,
        sent: goodIds.length,
        deadLettered: lostIds.length,
        spoolPending: 0,
      });
      expect(metrics.degraded).toBe(false);
      const letters = readDeadLetters(spoolDir);
      expect(letters.map((letter) => events.decode(letter.value).id).sort()).toEqual([...lostIds].sort());
      expect(new Set(letters.map((letter) => letter.code))).toEqual(new Set(['UNKNOWN_TOPIC_OR_PARTITION']));
      const written = idsInTopic(good);
      expect([...written.keys()].sort()).toEqual([...goodIds].sort());
      expect([...written.values()].every((count) => count === 1)).toBe(true);
    },
    120_000,
  );
});
