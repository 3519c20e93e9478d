import {
  Admin,
  type ClusterMetadata,
  ConfigResourceTypes,
  type MessageToProduce,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import { type EventsLogger, loggerSchema, optionsError, silentLogger } from '../../util/logger.js';
import { cutSocket } from '../cut-socket.js';
import { createLaneSender } from '../lane-sender.js';
import {
  DEFAULT_IN_FLIGHT_BATCHES,
  type KafkaProducerOptions,
  kafkaProducerOptionsSchema,
  positiveMs,
} from '../producer-options.js';
import { failureKind, UNKNOWN_TOPIC } from '../send-failure.js';
import { topicConfigs } from '../topic-spec.js';
import type { TopicSettings, Transport, TransportProducer } from '../types.js';
import { createPlatformaticConsumer } from './platformatic-consumer.js';

/** Options of {@link platformaticKafkaTransport}: the shared Kafka producer options, and the consumers'. */
export interface PlatformaticKafkaTransportOptions extends KafkaProducerOptions {
  /** Consumer: longest wait of a fetch for new data, in ms; also bounds `close()` of a consumer (default 500). */
  maxWaitTimeMs?: number | undefined;
  /**
   * Consumer: session timeout in ms (default 30000): a member that stops
   * heartbeating for this long loses its partitions to the rest of the group.
   */
  sessionTimeoutMs?: number | undefined;
  /**
   * Where consumers report what they recover from (default: nowhere): a batch
   * handler that threw (the batch is delivered again), a consumer stream or
   * group membership that failed (it is opened again).
   */
  logger?: EventsLogger | undefined;
}

const optionsSchema = kafkaProducerOptionsSchema.extend({
  maxWaitTimeMs: positiveMs('maxWaitTimeMs').optional(),
  sessionTimeoutMs: positiveMs('sessionTimeoutMs').optional(),
  logger: loggerSchema.optional(),
});

interface Settings {
  brokers: string[];
  clientId: string;
  compression: 'gzip' | 'zstd' | 'none';
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  sendRetries: number;
}
type Outgoing = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/**
 * The Kafka transport on [`@platformatic/kafka`](https://github.com/platformatic/kafka)
 * instead of kafkajs, for emitters and pipelines alike. Import it from
 * `@backlot/events/platformatic`; `@platformatic/kafka` is an optional peer
 * dependency, installed by the application that uses this transport.
 *
 * Producers: idempotent (`acks: all`, one request in flight per connection),
 * compressed batches (gzip unless `compression` says otherwise), each batch
 * split over `producerConnections` connections, a partition per connection,
 * keys partitioned as kafkajs and the Java client do.
 *
 * Consumers: members of a consumer group (classic protocol), with the same
 * guarantees as `kafkaTransport`'s: batches per partition in offset order,
 * `lag` from the latest fetch, `onAssign` on every (re)assignment, offsets
 * committed only by `commit()` (offsets of partitions the member no longer
 * owns are left to their new owner), at-least-once delivery. A batch whose
 * handler throws is delivered again, with a backoff, until it succeeds, its
 * partition moves to another member, or the consumer closes; nothing after it
 * in that partition is delivered meanwhile. `close()` waits for the batch in
 * the handler, delivers no other, and leaves the group.
 *
 * @example
 * ```ts
 * import { createEventProducer, createPipeline } from '@backlot/events';
 * import { platformaticKafkaTransport } from '@backlot/events/platformatic';
 *
 * const transport = platformaticKafkaTransport({ brokers: ['127.0.0.1:9092'] });
 * const producer = createEventProducer({ catalog, source: 'play-api', transport, topic: 'events' });
 * const pipeline = createPipeline({ catalog, transport, groupId: 'trending', topics: ['events'] });
 * ```
 */
export function platformaticKafkaTransport(options: PlatformaticKafkaTransportOptions): Transport {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('platformaticKafkaTransport', parsed.error);
  const settings: Settings = {
    brokers: options.brokers,
    clientId: options.clientId ?? 'backlot-events',
    compression: options.compression ?? 'gzip',
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    sendRetries: options.sendRetries ?? 2,
  };
  const connections = options.producerConnections ?? 4;
  return {
    name: 'platformatic-kafka',
    producer: () =>
      createProducer(
        settings,
        connections,
        options.maxRequestBytes ?? 1024 * 1024,
        options.maxInFlightBatches ?? DEFAULT_IN_FLIGHT_BATCHES,
      ),
    consumer: ({ groupId }) =>
      createPlatformaticConsumer(
        {
          brokers: settings.brokers,
          clientId: settings.clientId,
          connectionTimeoutMs: settings.connectionTimeoutMs,
          requestTimeoutMs: settings.requestTimeoutMs,
          maxWaitTimeMs: options.maxWaitTimeMs ?? 500,
          sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
          logger: options.logger ?? silentLogger,
        },
        groupId,
      ),
  };
}

type Lane = ReturnType<typeof createLane>;

/** The client options a producer's connections and its admin client share. */
const clientOptions = (settings: Settings) => ({
  clientId: settings.clientId,
  bootstrapBrokers: settings.brokers,
  connectTimeout: settings.connectionTimeoutMs,
  requestTimeout: settings.requestTimeoutMs,
  retries: settings.sendRetries,
  retryDelay: 100,
});

/** One idempotent producer (its own connection and producer id), created lazily, replaced only when the broker refuses its producer id. */
function createLane(settings: Settings) {
  let producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  let closed = false;
  const open = () => {
    // A send after close() (a part still queued on the lane) must not open a new connection and write it.
    if (closed) throw new Error('the producer is closed: not sent');
    producer ??= new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...clientOptions(settings),
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: settings.compression,
      autocreateTopics: true,
    });
    return producer;
  };
  return {
    async open(): Promise<void> {
      // The client connects on first use; asking for metadata opens the connection now.
      await open().metadata({ topics: [] });
    },
    metadata(topic: string): Promise<ClusterMetadata> {
      return open().metadata({ topics: [topic] });
    },
    async send(messages: Outgoing[]): Promise<void> {
      const current = open();
      try {
        await current.send({ messages }).catch((error: unknown) => {
          throw withKafkaName(error);
        });
      } catch (error) {
        // The client moves a partition's sequence number on only when the broker acknowledged it,
        // so after an outage or refused records the lane keeps its producer (and producer id):
        // the same partition batches sent again are de-duplicated by the broker where it had
        // written them (an answer lost to a timeout or a cut connection). Only when the broker
        // refuses the producer id or its sequence numbers does the lane start over with a new one.
        if (failureKind(error) === 'producer' && producer === current) {
          producer = undefined;
          try {
            await current.close(true);
          } catch {
            // Already broken: nothing more to release.
          }
        }
        throw error;
      }
    },
    async close(): Promise<void> {
      closed = true;
      const current = producer;
      producer = undefined;
      if (!current) return;
      await closeCutting(current);
    },
  };
}

/**
 * Closes a @platformatic/kafka client so that nothing is written after. Its own close refuses
 * new connections and requests, but ends each socket gracefully (`destroySoon`): a request it
 * had written during an outage, still in the socket's buffers, would reach the broker when it
 * reads again, after `close()` returned and the producer put those events in its spool. So
 * every socket is cut first (see `cutSocket`), which also fails the requests in flight at once.
 */
async function closeCutting(client: Producer<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
  for (const [, connection] of client.connections) {
    if (connection.socket) cutSocket(connection.socket);
  }
  await client.close().catch(() => {});
}

/**
 * @platformatic/kafka reports a topic the broker does not know (and did not create) as a
 * `UserError` "Unknown topic …" that drops the broker's error code: put Kafka's name back
 * (`type`, as kafkajs spells it), so the lane sender can tell it from an outage.
 */
function withKafkaName(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === 'PLT_KFK_USER' && typeof message === 'string' && message.startsWith('Unknown topic ')) {
    return Object.assign(new Error(message, { cause: error }), { type: UNKNOWN_TOPIC });
  }
  return error;
}

const messageBytes = (m: Outgoing): number => (m.value?.length ?? 0) + (m.key?.length ?? 0);

/**
 * The partitions of `topic` that a failed send delivered and counted anyway: @platformatic/kafka
 * sends one request per leader and, when one fails, reports the others' offsets in `produced`
 * (their sequence numbers moved on, so sending them again would write them twice).
 */
function acknowledgedPartitions(error: unknown, topic: string): ReadonlySet<number> | undefined {
  const offsets = (error as { produced?: { offsets?: { topic: string; partition: number }[] } } | null)?.produced
    ?.offsets;
  if (!offsets || offsets.length === 0) return undefined;
  return new Set(offsets.filter((offset) => offset.topic === topic).map((offset) => offset.partition));
}

/** An admin client of the producer's, for topic configuration: created on first use, closed with the producer. */
function createTopicAdmin(settings: Settings) {
  let admin: Admin | undefined;
  let closed = false;
  const open = () => {
    if (closed) throw new Error('the producer is closed');
    admin ??= new Admin(clientOptions(settings));
    return admin;
  };
  return {
    /** The topic's `max.message.bytes` (its own, or the broker's `message.max.bytes` it inherits). */
    async maxMessageBytes(topic: string): Promise<number | undefined> {
      const [description] = await open().describeConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['max.message.bytes'] },
        ],
      });
      const bytes = Number(description?.configs.find((config) => config.name === 'max.message.bytes')?.value);
      return Number.isInteger(bytes) && bytes > 0 ? bytes : undefined;
    },
    /** Creates `spec.topic` unless it exists. */
    async ensureTopic(spec: TopicSettings): Promise<void> {
      try {
        await open().createTopics({
          topics: [spec.topic],
          partitions: spec.partitions,
          replicas: -1,
          configs: Object.entries(topicConfigs(spec)).map(([name, value]) => ({ name, value })),
        });
      } catch (error) {
        if (!JSON.stringify(errorIds(error)).includes('TOPIC_ALREADY_EXISTS')) throw error;
      }
    },
    async close(): Promise<void> {
      closed = true;
      const current = admin;
      admin = undefined;
      await current?.close();
    },
  };
}

/** The Kafka error names in `error` and the errors it aggregates. */
function errorIds(error: unknown): string[] {
  const ids: string[] = [];
  const visit = (current: unknown, depth: number) => {
    if (typeof current !== 'object' || current === null || depth > 4) return;
    const { apiId, errors } = current as { apiId?: unknown; errors?: unknown };
    if (typeof apiId === 'string') ids.push(apiId);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return ids;
}

function createProducer(
  settings: Settings,
  connections: number,
  maxRequestBytes: number,
  pipelining: number,
): TransportProducer {
  const lanes = Array.from({ length: connections }, () => createLane(settings));
  const admin = createTopicAdmin(settings);
  const sender = createLaneSender<Outgoing>({
    lanes: lanes.map((lane) => ({ send: (_topic: string, messages: Outgoing[]) => lane.send(messages) })),
    fetchPartitions: async (topic) =>
      (await (lanes[0] as Lane).metadata(topic)).topics.get(topic)?.partitionsCount ?? 0,
    encode: (topic, m, partition) => {
      const message: Outgoing = { topic, value: m.value, timestamp: BigInt(Math.floor(m.timestamp)) };
      if (m.key !== null) message.key = Buffer.from(m.key);
      if (m.headers) {
        message.headers = new Map(
          Object.entries(m.headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)] as const),
        );
      }
      if (partition !== undefined) message.partition = partition;
      return message;
    },
    sizeOf: messageBytes,
    maxRequestBytes,
    fetchMaxMessageBytes: (topic) => admin.maxMessageBytes(topic),
    acknowledgedPartitions,
  });

  return {
    pipelining,
    async connect() {
      await Promise.all(lanes.map((lane) => lane.open()));
    },
    send: sender.send,
    resume: sender.resume,
    maxMessageBytes: sender.maxMessageBytes,
    ensureTopic: (spec) => admin.ensureTopic(spec),
    async close() {
      await Promise.all([...lanes.map((lane) => lane.close()), admin.close().catch(() => {})]);
    },
  };
}
