import {
  type Admin,
  type AdminConfig,
  CompressionTypes,
  type ConfigResourceTypes,
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  type Producer,
} from 'kafkajs';
import { z } from 'zod';
import { type EventsLogger, loggerSchema, optionsError, silentLogger } from '../../util/logger.js';
import { createLaneSender } from '../lane-sender.js';
import {
  DEFAULT_IN_FLIGHT_BATCHES,
  type KafkaProducerOptions,
  kafkaProducerOptionsSchema,
  positiveMs,
} from '../producer-options.js';
import { headersOf } from '../record-headers.js';
import { failureKind } from '../send-failure.js';
import { topicConfigs } from '../topic-spec.js';
import type { ConsumedBatch, PartitionOffset, Transport, TransportConsumer, TransportProducer } from '../types.js';
import { registerCodecs, withTransportCodecs } from './codecs.js';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

/** Options of {@link kafkaTransport}. */
export interface KafkaTransportOptions extends KafkaProducerOptions {
  /** Consumer: longest wait of a fetch for new data, in ms; also bounds `close()` of a consumer (default 500). */
  maxWaitTimeMs?: number | undefined;
  /** Consumer: session timeout in ms (default 30000). */
  sessionTimeoutMs?: number | undefined;
  /** Where kafkajs's own warnings and errors go (default: nowhere). */
  logger?: EventsLogger | undefined;
  /** Extra kafkajs client settings (ssl, sasl, …), merged over the ones above. */
  kafkaConfig?: Partial<KafkaConfig> | undefined;
}

const optionsSchema = kafkaProducerOptionsSchema.extend({
  maxWaitTimeMs: positiveMs('maxWaitTimeMs').optional(),
  sessionTimeoutMs: positiveMs('sessionTimeoutMs').optional(),
  logger: loggerSchema.optional(),
  kafkaConfig: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The Kafka transport, on kafkajs: idempotent producers (`acks: all`, one
 * request in flight per connection, as idempotence requires in kafkajs, so that
 * per-partition order survives retries), gzip batches, and consumer groups with
 * manual commits (gzip by default; `compression: 'zstd'` with Node's own zstd). A transport producer sends each batch over several
 * connections at once (`producerConnections`), each partition always over the
 * same one, so batches are compressed and acknowledged in parallel while every
 * partition keeps the emit order. kafkajs is kept behind the {@link Transport}
 * interface so another client can replace it without touching emitters or pipelines.
 *
 * @example
 * ```ts
 * const transport = kafkaTransport({ brokers: ['127.0.0.1:9092'] });
 * const producer = createEventProducer({ catalog, source: 'play-api', transport, topic: 'events' });
 * ```
 */
export function kafkaTransport(options: KafkaTransportOptions): Transport {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('kafkaTransport', parsed.error);
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const logger = options.logger ?? silentLogger;
  const config: KafkaConfig = {
    clientId: options.clientId ?? 'backlot-events',
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: options.logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...rest } = log;
        if (level <= logLevel.ERROR) logger.error({ transport: 'kafka', ...rest }, `kafkajs: ${message}`);
        else logger.warn({ transport: 'kafka', ...rest }, `kafkajs: ${message}`);
      },
  };
  const kafka = new Kafka({ ...config, ...(options.kafkaConfig ?? {}) });
  // Producers own their retry policy in one place, the Backlot producer's backoff: kafkajs's
  // client-level retry (5 tries, up to 30 s, around every reconnect) would otherwise nest inside
  // each send and hide an outage for 10 s and more.
  const producerKafka = new Kafka({ ...config, retry: { retries: 0 }, ...(options.kafkaConfig ?? {}) });
  // zstd for every consumer, a one-round-trip gzip for this transport's producers.
  registerCodecs();
  fixKafkajsRequestQueue();
  const compression =
    options.compression === 'none'
      ? CompressionTypes.None
      : options.compression === 'zstd'
        ? CompressionTypes.ZSTD
        : CompressionTypes.GZIP;
  // kafkajs refuses an idempotent producer without at least one retry of its own.
  const sendRetries = Math.max(1, options.sendRetries ?? 1);

  return {
    name: 'kafka',
    producer: () =>
      createKafkaProducer(
        producerKafka,
        compression,
        sendRetries,
        options.producerConnections ?? 4,
        options.maxRequestBytes ?? 1024 * 1024,
        options.maxInFlightBatches ?? DEFAULT_IN_FLIGHT_BATCHES,
      ),
    consumer: ({ groupId }) =>
      createKafkaConsumer(kafka, groupId, options.maxWaitTimeMs ?? 500, options.sessionTimeoutMs ?? 30_000),
  };
}

/** One idempotent kafkajs producer (its own connection and producer id), opened lazily and replaced after a failure. */
function createLane(kafka: Kafka, retries: number) {
  let producer: Producer | undefined;
  let connected: Promise<Producer> | undefined;
  const open = (): Promise<Producer> => {
    connected ??= (async () => {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        retry: { retries, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      try {
        await created.connect();
      } catch (error) {
        connected = undefined;
        await created.disconnect().catch(() => {});
        throw error;
      }
      producer = created;
      return created;
    })();
    return connected;
  };
  return {
    open,
    async send(topic: string, compression: CompressionTypes, messages: Message[]): Promise<void> {
      const current = await open();
      try {
        await withTransportCodecs(() => current.send({ topic, acks: -1, compression, messages }));
      } catch (error) {
        // Records refused (too large, invalid): kafkajs rolled the sequence numbers back, so the
        // lane keeps its producer and the same partition batches sent again are de-duplicated.
        // Otherwise start over with a fresh producer (and producer id) next time: after a failed
        // idempotent send, kafkajs's sequence numbers may no longer match the broker's.
        if (failureKind(error) === 'outage' && producer === current) {
          producer = undefined;
          connected = undefined;
          await current.disconnect().catch(() => {});
        }
        throw error;
      }
    },
    async close(): Promise<void> {
      const current = producer;
      producer = undefined;
      connected = undefined;
      await current?.disconnect();
    },
  };
}

/** kafkajs's `ConfigResourceTypes.TOPIC` (not a named export of its CommonJS build under ESM). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

const messageBytes = (m: Message): number =>
  (m.value as Buffer).length + (typeof m.key === 'string' ? m.key.length : (m.key?.length ?? 0));

function createKafkaProducer(
  kafka: Kafka,
  compression: CompressionTypes,
  retries: number,
  connections: number,
  maxRequestBytes: number,
  pipelining: number,
): TransportProducer {
  const lanes = Array.from({ length: connections }, () => createLane(kafka, retries));
  /** One admin client, shared by concurrent lookups (released again when connecting fails). */
  let admin: Promise<Admin> | undefined;
  const connected = (): Promise<Admin> => {
    admin ??= connectedAdmin(kafka, { retry: { retries, initialRetryTime: 100, maxRetryTime: 1000 } }).catch(
      (error: unknown) => {
        admin = undefined;
        throw error;
      },
    );
    return admin;
  };

  const fetchPartitions = async (topic: string): Promise<number> => {
    const { topics } = await (await connected()).fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  };

  /** The topic's `max.message.bytes` (its own, or the broker's `message.max.bytes` it inherits). */
  const fetchMaxMessageBytes = async (topic: string): Promise<number | undefined> => {
    const { resources } = await (await connected()).describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue;
    const bytes = Number(value);
    return Number.isInteger(bytes) && bytes > 0 ? bytes : undefined;
  };

  const sender = createLaneSender<Message>({
    lanes: lanes.map((lane) => ({
      send: (topic: string, messages: Message[]) => lane.send(topic, compression, messages),
    })),
    fetchPartitions,
    fetchMaxMessageBytes,
    encode: (_topic, m, partition): Message => {
      const timestamp = String(Math.floor(m.timestamp));
      // Whole object literals, one shape per case (kafkajs reads these on its hot path).
      if (m.headers) {
        const headers = { ...m.headers };
        return partition === undefined
          ? { key: m.key, value: m.value, timestamp, headers }
          : { key: m.key, value: m.value, timestamp, partition, headers };
      }
      return partition === undefined
        ? { key: m.key, value: m.value, timestamp }
        : { key: m.key, value: m.value, timestamp, partition };
    },
    sizeOf: messageBytes,
    maxRequestBytes,
  });

  return {
    pipelining,
    async connect() {
      await Promise.all(lanes.map((lane) => lane.open()));
    },
    send: sender.send,
    resume: sender.resume,
    maxMessageBytes: sender.maxMessageBytes,
    async ensureTopic(spec) {
      // Resolves false when the topic exists already.
      await (await connected()).createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: spec.topic,
            numPartitions: spec.partitions,
            configEntries: Object.entries(topicConfigs(spec)).map(([name, value]) => ({ name, value })),
          },
        ],
      });
    },
    async close() {
      const current = admin;
      admin = undefined;
      await Promise.all([
        ...lanes.map((lane) => lane.close()),
        current?.then(
          (client) => client.disconnect(),
          () => {},
        ),
      ]);
    },
  };
}

/** A connected kafkajs admin client (released again when connecting fails). */
async function connectedAdmin(kafka: Kafka, config?: AdminConfig): Promise<Admin> {
  const admin = kafka.admin(config);
  try {
    await admin.connect();
  } catch (error) {
    await admin.disconnect().catch(() => {});
    throw error;
  }
  return admin;
}

function createKafkaConsumer(
  kafka: Kafka,
  groupId: string,
  maxWaitTimeInMs: number,
  sessionTimeout: number,
): TransportConsumer {
  let consumer: Consumer | undefined;
  /** Reads committed offsets and their metadata (kafkajs consumers cannot). */
  let admin: Admin | undefined;
  return {
    async run({ topics, fromBeginning, handler, onAssign }) {
      consumer = kafka.consumer({ groupId, maxWaitTimeInMs, sessionTimeout, allowAutoTopicCreation: true });
      if (onAssign) {
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
          onAssign(
            Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
              partitions.map((partition) => ({ topic, partition })),
            ),
          );
        });
      }
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning });
      const started = consumer;
      await withTransportCodecs(() =>
        started.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch, isRunning, isStale }) => {
            if (!isRunning() || isStale() || batch.messages.length === 0) return;
            const lag = Number(batch.offsetLag());
            const consumed: ConsumedBatch = {
              topic: batch.topic,
              partition: batch.partition,
              lag: Number.isFinite(lag) ? lag : undefined,
              messages: batch.messages.map((m) => ({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key ?? null,
                value: m.value ?? null,
                timestamp: Number(m.timestamp),
                ...headersOf(m.headers),
              })),
            };
            await handler(consumed);
          },
        }),
      );
    },
    async commit(offsets: readonly PartitionOffset[]) {
      if (!consumer || offsets.length === 0) return;
      await consumer.commitOffsets(
        offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: o.offset,
          metadata: o.metadata ?? null,
        })),
      );
    },
    async committed(partitions) {
      if (partitions.length === 0) return [];
      admin ??= await connectedAdmin(kafka);
      const current = admin;
      const topics = [...new Set(partitions.map((p) => p.topic))];
      const wanted = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
      const result: PartitionOffset[] = [];
      for (const { topic, partitions: found } of await current.fetchOffsets({ groupId, topics })) {
        for (const { partition, offset, metadata } of found) {
          // kafkajs reports "-1" for a partition without a commit.
          if (offset === '-1' || !wanted.has(`${topic}\u0000${partition}`)) continue;
          result.push({ topic, partition, offset, metadata: metadata ?? undefined });
        }
      }
      return result;
    },
    async close() {
      const current = consumer;
      consumer = undefined;
      const currentAdmin = admin;
      admin = undefined;
      await Promise.all([current?.disconnect(), currentAdmin?.disconnect()]);
    },
  };
}
