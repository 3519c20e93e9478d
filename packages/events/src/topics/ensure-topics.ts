import { type Admin, type ConfigResourceTypes, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { z } from 'zod';
import { StateError } from '../state/errors.js';
import { fixKafkajsRequestQueue } from '../transport/kafka/request-queue-fix.js';
import { optionsError } from '../util/logger.js';

/** A topic as a pipeline needs it: created explicitly, never by auto-creation. */
export interface TopicSpec {
  /** Topic name (required). */
  topic: string;
  /** Partitions (required): the pipeline's parallelism; a changelog needs as many as its source topic. */
  partitions: number;
  /** Copies of each partition (default: 3, or the number of brokers when fewer). */
  replicationFactor?: number | undefined;
  /** How long records are kept, in ms, or `'forever'` (default: the broker's `log.retention.*`). */
  retentionMs?: number | 'forever' | undefined;
  /** Keep only the latest record per key (`cleanup.policy=compact`), as a changelog needs (default `false`). */
  compact?: boolean | undefined;
  /** Further topic settings, e.g. `{ 'min.insync.replicas': '2' }`. */
  config?: Record<string, string> | undefined;
}

/** @internal zod schema of a {@link TopicSpec}. */
export const topicSpecSchema = z.object({
  topic: z
    .string({ error: 'topic is required' })
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'topic must be 1–249 letters, digits, . _ or -'),
  partitions: z
    .number({ error: 'partitions is required: e.g. 3' })
    .int()
    .positive('partitions must be a positive integer'),
  replicationFactor: z.number().int().positive('replicationFactor must be a positive integer').optional(),
  retentionMs: z
    .union(
      [z.literal('forever'), z.number().int().positive("retentionMs must be a positive number of ms or 'forever'")],
      {
        error: "retentionMs must be a positive number of ms or 'forever'",
      },
    )
    .optional(),
  compact: z.boolean({ error: 'compact must be true or false' }).optional(),
  config: z.record(z.string(), z.string()).optional(),
});

/** kafkajs's `ConfigResourceTypes.TOPIC` (not a named export of its CommonJS build under ESM). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** Broker answers that no retry can change. */
const FORBIDDEN: Record<string, string> = {
  TOPIC_AUTHORIZATION_FAILED: 'this client may not create or describe it (grant CREATE/DESCRIBE on the topic)',
  CLUSTER_AUTHORIZATION_FAILED: 'this client may not create topics (grant CREATE on the cluster)',
  POLICY_VIOLATION: "the broker's create-topic policy refuses these settings",
  INVALID_REPLICATION_FACTOR: 'the replication factor is larger than the number of brokers (set replicationFactor)',
  INVALID_PARTITIONS: 'the partition count is not valid',
  INVALID_CONFIG: 'a topic setting is not valid',
};

const errorType = (error: unknown): string | undefined => {
  const nested = (error as { errors?: unknown[] } | undefined)?.errors;
  const first = Array.isArray(nested) && nested.length > 0 ? nested[0] : error;
  const type = (first as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
};

/**
 * @internal creates each topic that does not exist with its partitions,
 * replication and retention, and checks the ones that do (enough partitions,
 * compaction when asked). Throws a `BACKLOT_EVENTS_TOPIC_SETUP` {@link StateError}
 * naming the topic and the fix when the broker forbids it or a topic does not match.
 */
export async function ensureTopicsWith(admin: Admin, specs: readonly TopicSpec[]): Promise<{ created: string[] }> {
  for (const spec of specs) {
    const parsed = topicSpecSchema.safeParse(spec);
    if (!parsed.success) throw optionsError(`topic '${spec.topic}'`, parsed.error);
  }
  const created: string[] = [];
  if (specs.length === 0) return { created };
  const { brokers } = await admin.describeCluster();
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  for (const spec of missing) {
    const replicationFactor = spec.replicationFactor ?? Math.min(3, brokers.length);
    const configEntries = Object.entries({
      ...(spec.compact ? { 'cleanup.policy': 'compact' } : {}),
      ...(spec.retentionMs === undefined
        ? {}
        : { 'retention.ms': spec.retentionMs === 'forever' ? '-1' : String(spec.retentionMs) }),
      ...(spec.config ?? {}),
    }).map(([name, value]) => ({ name, value }));
    try {
      // false when another process created it meanwhile: it exists, which is what was asked.
      const made = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: spec.topic, numPartitions: spec.partitions, replicationFactor, configEntries }],
      });
      if (made) created.push(spec.topic);
    } catch (error) {
      const type = errorType(error);
      if (type === 'TOPIC_ALREADY_EXISTS') continue; // another member created it meanwhile
      const why = (type && FORBIDDEN[type]) ?? `the broker answered ${type ?? String(error)}`;
      throw new StateError(
        'BACKLOT_EVENTS_TOPIC_SETUP',
        `cannot create topic '${spec.topic}' (${spec.partitions} partitions, replication ${replicationFactor}): ${why}. Create it beforehand with these settings, or fix the broker's permissions.`,
        { cause: error, topic: spec.topic },
      );
    }
  }
  await checkTopics(admin, specs);
  return { created };
}

async function checkTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.topic) });
  const compacted = specs.filter((spec) => spec.compact);
  const configs =
    compacted.length === 0
      ? []
      : (
          await admin.describeConfigs({
            includeSynonyms: false,
            resources: compacted.map((spec) => ({
              type: TOPIC_RESOURCE,
              name: spec.topic,
              configNames: ['cleanup.policy'],
            })),
          })
        ).resources;
  for (const spec of specs) {
    const found = topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
    if (found < spec.partitions) {
      throw new StateError(
        'BACKLOT_EVENTS_TOPIC_SETUP',
        `topic '${spec.topic}' has ${found} partition(s), ${spec.partitions} needed: add partitions (kafka-topics --alter --partitions ${spec.partitions}) or use another topic`,
        { topic: spec.topic },
      );
    }
    if (spec.compact) {
      const policy = configs
        .find((r) => r.resourceName === spec.topic)
        ?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
      if (!policy?.split(',').includes('compact')) {
        throw new StateError(
          'BACKLOT_EVENTS_TOPIC_SETUP',
          `topic '${spec.topic}' must be compacted (cleanup.policy=compact), found '${policy ?? 'unknown'}': alter it or use another topic`,
          { topic: spec.topic },
        );
      }
    }
  }
}

/** Options of {@link ensureTopics}. */
export interface EnsureTopicsOptions {
  /** Kafka bootstrap brokers (required). */
  brokers: string[];
  /** The topics, e.g. the data, changelog and dead-letter topics of a pipeline (required). */
  topics: TopicSpec[];
  /** Longest the whole setup may take, in ms (default 30,000); then a `BACKLOT_EVENTS_TOPIC_SETUP` error. */
  timeoutMs?: number | undefined;
  /** Extra kafkajs client settings (ssl, sasl, …). */
  kafkaConfig?: Partial<KafkaConfig> | undefined;
}

const ensureOptionsSchema = z.object({
  timeoutMs: z.number().int().positive('timeoutMs must be a positive number of ms').optional(),
  brokers: z.array(z.string().min(1)).min(1, "brokers is required: e.g. ['127.0.0.1:9092']"),
  topics: z.array(topicSpecSchema, { error: 'topics is required: a list of { topic, partitions, … }' }),
  kafkaConfig: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Creates the topics a deployment needs, explicitly, with their partitions,
 * replication and retention (compaction for changelogs), and checks those
 * that exist. Pipelines never rely on auto-creation: run this at deploy or
 * start time. Throws a `BACKLOT_EVENTS_TOPIC_SETUP` `StateError` naming the
 * topic and the fix when the broker forbids the creation.
 *
 * @example
 * ```ts
 * await ensureTopics({
 *   brokers: ['127.0.0.1:9092'],
 *   topics: [
 *     { topic: 'events', partitions: 3, retentionMs: 7 * 24 * 3600_000 },
 *     { topic: 'events.dead-letter', partitions: 1, retentionMs: 'forever' },
 *   ],
 * });
 * ```
 */
export async function ensureTopics(options: EnsureTopicsOptions): Promise<{ created: string[] }> {
  const parsed = ensureOptionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('ensureTopics', parsed.error);
  fixKafkajsRequestQueue();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const admin = new Kafka({
    clientId: 'backlot-topics',
    brokers: options.brokers,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: Math.min(timeoutMs, 30_000),
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.NOTHING,
    ...(options.kafkaConfig ?? {}),
  }).admin();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StateError(
            'BACKLOT_EVENTS_TOPIC_SETUP',
            `cannot set up topics ${options.topics.map((t) => t.topic).join(', ')} on ${options.brokers.join(',')}: no answer within ${timeoutMs} ms; is the broker running?`,
            { topic: options.topics[0]?.topic },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      (async () => {
        await admin.connect().catch((error: unknown) => {
          throw new StateError(
            'BACKLOT_EVENTS_TOPIC_SETUP',
            `cannot set up topics ${options.topics.map((t) => t.topic).join(', ')}: Kafka at ${options.brokers.join(',')} is not reachable (${error instanceof Error ? error.message : String(error)}); is the broker running?`,
            { cause: error, topic: options.topics[0]?.topic },
          );
        });
        return ensureTopicsWith(admin, options.topics);
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
