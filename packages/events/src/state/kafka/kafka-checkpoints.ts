import { randomUUID } from 'node:crypto';
import { type Admin, CompressionTypes, Kafka, type KafkaConfig, logLevel, type Message, type Producer } from 'kafkajs';
import { z } from 'zod';
import { ensureTopicsWith } from '../../topics/ensure-topics.js';
import { fixKafkajsRequestQueue } from '../../transport/kafka/request-queue-fix.js';
import { chunkByBytes } from '../../transport/partitioning.js';
import { type EventsLogger, loggerSchema, optionsError, silentLogger } from '../../util/logger.js';
import { StateError } from '../errors.js';
import {
  type CheckpointStore,
  type PartitionCheckpoint,
  partitionId,
  type RestoredPartition,
  type SourcePartition,
} from '../types.js';
import { CHANGELOG_TOPIC_CONFIG, completeChangelogConfig } from './changelog-config.js';
import { readChangelog } from './read-changelog.js';

/** Options of {@link kafkaCheckpoints}. */
export interface KafkaCheckpointsOptions {
  /** Kafka bootstrap brokers (required). */
  brokers: string[];
  /** The changelog topic (default `<groupId>-state-changelog`). Created with the source topics' partition count, compacted. */
  changelogTopic?: string | undefined;
  /**
   * Settings of the changelog topic, over {@link CHANGELOG_TOPIC_CONFIG} (compaction with
   * `segment.ms` 10 min, `min.cleanable.dirty.ratio` 0.1, `delete.retention.ms` 1 h), e.g.
   * `{ 'segment.ms': '60000' }`. Given to a changelog when it is created; an existing one
   * gets those it does not have on its own (its own settings are kept).
   */
  changelogConfig?: Record<string, string> | undefined;
  /** Replication of the changelog topic when it is created (default: 3, or the number of brokers when fewer). */
  replicationFactor?: number | undefined;
  /** Longest a restore of assigned partitions may take, in ms (default 120,000). */
  restoreTimeoutMs?: number | undefined;
  /** Broker-side timeout of a checkpoint's transaction, in ms (default 60,000). */
  transactionTimeoutMs?: number | undefined;
  /** Connection timeout in ms (default 3000). */
  connectionTimeoutMs?: number | undefined;
  /** Request timeout in ms (default 30,000). */
  requestTimeoutMs?: number | undefined;
  /** Where restores and fenced partitions are logged (default: nowhere). */
  logger?: EventsLogger | undefined;
  /** Extra kafkajs client settings (ssl, sasl, …). */
  kafkaConfig?: Partial<KafkaConfig> | undefined;
}

const ms = (name: string) => z.number().int().positive(`${name} must be a positive number of ms`);

const optionsSchema = z.object({
  brokers: z
    .array(z.string().min(1), { error: "brokers is required: e.g. ['127.0.0.1:9092']" })
    .min(1, "brokers is required: e.g. ['127.0.0.1:9092']"),
  changelogTopic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'changelogTopic must be 1–249 letters, digits, . _ or -')
    .optional(),
  changelogConfig: z
    .record(
      z.string().regex(/^[a-z0-9.]+$/, "changelogConfig keys are Kafka topic settings, e.g. 'segment.ms'"),
      z.string({ error: "changelogConfig values are strings, e.g. { 'segment.ms': '60000' }" }),
    )
    .refine(
      (config) => config['cleanup.policy'] === undefined || config['cleanup.policy'].split(',').includes('compact'),
      "changelogConfig['cleanup.policy'] must include 'compact': a changelog keeps the latest record of each key",
    )
    .optional(),
  replicationFactor: z.number().int().positive('replicationFactor must be a positive integer').optional(),
  restoreTimeoutMs: ms('restoreTimeoutMs').optional(),
  transactionTimeoutMs: ms('transactionTimeoutMs').optional(),
  connectionTimeoutMs: ms('connectionTimeoutMs').optional(),
  requestTimeoutMs: ms('requestTimeoutMs').optional(),
  logger: loggerSchema.optional(),
  kafkaConfig: z.record(z.string(), z.unknown()).optional(),
});

/** Changelog record kinds: a state entry, the source offset a checkpoint covers, a restore marker. */
const KIND = { state: 's', offset: 'o', marker: 'r' } as const;

/** @internal the changelog key of an entry of a source partition's state. */
export const changelogKey = (p: SourcePartition, kind: string, key: string): string =>
  JSON.stringify([p.topic, p.partition, kind, key]);

/**
 * Most bytes (keys and values, before compression) sent in one request of a
 * checkpoint: a checkpoint after a long pause can change many slots, and one
 * record batch must stay below the topic's `max.message.bytes` (1 MiB by default).
 */
const CHUNK_BYTES = 256 * 1024;

/** Splits `messages` into runs of at most {@link CHUNK_BYTES} (a larger message goes alone). */
const chunks = (messages: Message[]): Message[][] =>
  chunkByBytes(
    messages,
    CHUNK_BYTES,
    (m) => 64 + String(m.key ?? '').length + (m.value === null ? 0 : (m.value as string | Buffer).length),
  );

/** Broker answers meaning another producer took this transactional id over. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/** Broker answers meaning this client may not use transactions at all. */
const FORBIDDEN = new Set([
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

const hasType = (error: unknown, types: Set<string>): boolean => {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && types.has(type)) return true;
    const nested = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(nested) && nested.some((n) => hasType(n, types))) return true;
  }
  return false;
};
const isFenced = (error: unknown): boolean => hasType(error, FENCED);

/** The fix to name when the broker refuses this client transactions. */
const forbiddenHint = (error: unknown): string =>
  hasType(error, FORBIDDEN)
    ? ' — the broker refuses this client transactions: grant WRITE and DESCRIBE on the TransactionalId prefix <groupId>- and READ on the group'
    : '';

/**
 * Checkpoints on Kafka itself, as Kafka Streams does: each source partition
 * (a "task") has a transactional producer (`transactional.id` =
 * `<groupId>-<topic>-<partition>`) that writes, in one transaction, the
 * partition's window-state changes to a compacted changelog topic, the
 * records of exactly-once sinks, and the consumer group's offset. A crash
 * therefore never leaves state and offsets apart, and a member taking a
 * partition over fences the previous owner before it reads the state back.
 *
 * @example
 * ```ts
 * const pipeline = createPipeline({
 *   catalog, transport, groupId: 'trending',
 *   checkpoints: kafkaCheckpoints({ brokers: ['127.0.0.1:9092'] }),
 * });
 * ```
 */
export function kafkaCheckpoints(options: KafkaCheckpointsOptions): CheckpointStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('kafkaCheckpoints', parsed.error);
  fixKafkajsRequestQueue();
  return new KafkaCheckpointStore(options);
}

class KafkaCheckpointStore implements CheckpointStore {
  readonly name = 'kafka-changelog';
  readonly #options: KafkaCheckpointsOptions;
  readonly #kafka: Kafka;
  readonly #logger: EventsLogger;
  readonly #producers = new Map<string, Producer>();
  /** Partitions this member owns (`topic\u0000partition`). */
  readonly #owned = new Set<string>();
  #admin: Admin | undefined;
  #groupId = '';
  #changelog = '';

  constructor(options: KafkaCheckpointsOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#kafka = new Kafka({
      clientId: 'backlot-checkpoints',
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      ...(options.kafkaConfig ?? {}),
    });
  }

  async #connectedAdmin(): Promise<Admin> {
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      await admin.connect();
      this.#admin = admin;
    }
    return this.#admin;
  }

  async prepare({
    groupId,
    topics,
    deadLetterTopic,
    transport,
  }: {
    groupId: string;
    topics: readonly string[];
    deadLetterTopic?: string | undefined;
    transport: string;
  }): Promise<void> {
    if (transport !== 'kafka') {
      // Offsets are committed to the Kafka group by the checkpoint transactions, and the restore
      // relies on read_committed consumers: kafkaTransport's (kafkajs) are.
      throw new StateError(
        'BACKLOT_EVENTS_CHECKPOINT',
        `kafkaCheckpoints needs the pipeline's transport to be kafkaTransport({ brokers }) on the same cluster, not '${transport}'`,
      );
    }
    this.#groupId = groupId;
    this.#changelog = this.#options.changelogTopic ?? `${groupId}-state-changelog`;
    const admin = await this.#connectedAdmin();
    const metadata = await admin.fetchTopicMetadata({ topics: [...topics] }).catch((error: unknown) => {
      throw new StateError(
        'BACKLOT_EVENTS_TOPIC_SETUP',
        `cannot read the source topics ${topics.join(', ')}: create them first (ensureTopics) — pipelines never rely on auto-creation`,
        { cause: error, topic: topics[0] },
      );
    });
    const partitions = Math.max(...metadata.topics.map((t) => t.partitions.length));
    const config = { ...CHANGELOG_TOPIC_CONFIG, ...this.#options.changelogConfig };
    const { created } = await ensureTopicsWith(admin, [
      {
        topic: this.#changelog,
        partitions,
        compact: true,
        replicationFactor: this.#options.replicationFactor,
        config,
      },
      // The dead-letter topic too, rather than by auto-creation at the first poison event.
      ...(deadLetterTopic === undefined
        ? []
        : [{ topic: deadLetterTopic, partitions: 1, replicationFactor: this.#options.replicationFactor }]),
    ]);
    // A changelog created before these settings (or by hand) gets those it lacks.
    if (!created.includes(this.#changelog)) await completeChangelogConfig(admin, this.#changelog, config, this.#logger);
  }

  #transactionalId(p: SourcePartition): string {
    return `${this.#groupId}-${p.topic}-${p.partition}`;
  }

  async #producer(p: SourcePartition): Promise<Producer> {
    const id = partitionId(p);
    const existing = this.#producers.get(id);
    if (existing) return existing;
    const producer = this.#kafka.producer({
      transactionalId: this.#transactionalId(p),
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      transactionTimeout: this.#options.transactionTimeoutMs ?? 60_000,
    });
    await producer.connect();
    this.#producers.set(id, producer);
    return producer;
  }

  async assign(partitions: readonly SourcePartition[]): Promise<Map<string, RestoredPartition>> {
    const restored = new Map<string, RestoredPartition>();
    if (partitions.length === 0) return restored;
    // Take each partition over: the first transaction fences the previous owner (its open
    // transaction is aborted), and its marker tells the reader where the state ends.
    const markers = new Map<string, { value: string; offset: number }>();
    const taken = Promise.all(
      partitions.map(async (p) => {
        const value = randomUUID();
        const producer = await this.#producer(p);
        const transaction = await producer.transaction();
        let offset: number;
        try {
          const [written] = await transaction.send({
            topic: this.#changelog,
            acks: -1,
            messages: [{ key: changelogKey(p, KIND.marker, ''), value, partition: p.partition }],
          });
          offset = Number(written?.baseOffset);
          if (!Number.isSafeInteger(offset)) throw new Error('the broker acknowledged the marker with no offset');
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => {});
          throw error;
        }
        markers.set(partitionId(p), { value, offset });
        this.#owned.add(partitionId(p));
      }),
    );
    await taken.catch((error: unknown) => {
      throw new StateError(
        'BACKLOT_EVENTS_STATE_RESTORE',
        `cannot take over ${partitions.map((p) => `${p.topic}/${p.partition}`).join(', ')} (its transactional producer failed)${forbiddenHint(error)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, topic: partitions[0]?.topic },
      );
    });
    const started = Date.now();
    const { records, fetched } = await readChangelog({
      kafka: this.#kafka,
      admin: await this.#connectedAdmin(),
      topic: this.#changelog,
      groupId: `${this.#groupId}.restore.${randomUUID()}`,
      markers,
      timeoutMs: this.#options.restoreTimeoutMs ?? 120_000,
    });
    this.#logger.info(
      {
        changelog: this.#changelog,
        partitions: partitions.map((p) => `${p.topic}/${p.partition}`),
        records: fetched,
        ms: Date.now() - started,
      },
      'checkpoints: window state read back from the changelog',
    );
    for (const p of partitions) restored.set(partitionId(p), { entries: new Map(), offset: undefined });
    for (const { key, value } of records) {
      let parsedKey: unknown;
      try {
        parsedKey = JSON.parse(key);
      } catch {
        continue; // not a Backlot changelog record
      }
      if (!Array.isArray(parsedKey) || parsedKey.length !== 4) continue;
      const [topic, partition, kind, entry] = parsedKey as [string, number, string, string];
      const state = restored.get(partitionId({ topic, partition }));
      if (!state) continue;
      if (kind === KIND.offset && value !== null) state.offset = value;
      else if (kind === KIND.state) {
        if (value === null) state.entries.delete(entry);
        else state.entries.set(entry, value);
      }
    }
    return restored;
  }

  async revoke(partitions: readonly SourcePartition[]): Promise<void> {
    await Promise.all(
      partitions.map(async (p) => {
        const producer = this.#producers.get(partitionId(p));
        this.#producers.delete(partitionId(p));
        this.#owned.delete(partitionId(p));
        await producer?.disconnect().catch(() => {});
      }),
    );
  }

  async commit(checkpoint: PartitionCheckpoint): Promise<void> {
    const id = partitionId(checkpoint);
    if (!this.#owned.has(id)) {
      throw new StateError(
        'BACKLOT_EVENTS_PARTITION_LOST',
        `partition ${checkpoint.topic}/${checkpoint.partition} is not assigned to this member`,
        { topic: checkpoint.topic },
      );
    }
    const producer = await this.#producer(checkpoint);
    const transaction = await producer.transaction();
    try {
      const changelog: Message[] = checkpoint.changes.map(({ key, value }) => ({
        key: changelogKey(checkpoint, KIND.state, key),
        value,
        partition: checkpoint.partition,
      }));
      changelog.push({
        key: changelogKey(checkpoint, KIND.offset, ''),
        value: checkpoint.offset,
        partition: checkpoint.partition,
      });
      const sends = [
        ...chunks(changelog).map((messages) => ({ topic: this.#changelog, messages })),
        ...checkpoint.outputs.flatMap(({ topic, messages }) =>
          chunks(messages.map((m) => ({ key: m.key, value: m.value, timestamp: String(m.timestamp) }))).map((part) => ({
            topic,
            messages: part,
          })),
        ),
      ];
      // In turn, each within the record-batch limit; all in this one transaction.
      for (const { topic, messages } of sends) {
        await transaction.send({ topic, messages, acks: -1, compression: CompressionTypes.GZIP });
      }
      await transaction.sendOffsets({
        consumerGroupId: this.#groupId,
        topics: [
          {
            topic: checkpoint.topic,
            partitions: [{ partition: checkpoint.partition, offset: checkpoint.offset }],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      const aborted = await transaction.abort().then(
        () => true,
        () => false,
      );
      if (!aborted || isFenced(error)) {
        // A producer whose transaction could not be ended is replaced (a new one aborts it).
        this.#producers.delete(id);
        await producer.disconnect().catch(() => {});
      }
      if (isFenced(error)) {
        this.#owned.delete(id);
        this.#logger.warn(
          { topic: checkpoint.topic, partition: checkpoint.partition },
          'checkpoints: another member took this partition over; its state here is dropped',
        );
        throw new StateError(
          'BACKLOT_EVENTS_PARTITION_LOST',
          `partition ${checkpoint.topic}/${checkpoint.partition} was taken over by another member (fenced)`,
          { cause: error, topic: checkpoint.topic },
        );
      }
      throw new StateError(
        'BACKLOT_EVENTS_CHECKPOINT',
        `checkpoint of ${checkpoint.topic}/${checkpoint.partition} failed (nothing of it is visible; retried at the next interval)${forbiddenHint(error)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, topic: checkpoint.topic },
      );
    }
  }

  async close(): Promise<void> {
    const producers = [...this.#producers.values()];
    this.#producers.clear();
    const admin = this.#admin;
    this.#admin = undefined;
    await Promise.all([...producers.map((p) => p.disconnect().catch(() => {})), admin?.disconnect()]);
  }
}
