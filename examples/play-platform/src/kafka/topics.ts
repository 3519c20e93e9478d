import { Kafka, logLevel } from 'kafkajs';

/** A topic the platform needs, with the settings it is created with. */
export interface TopicSpec {
  topic: string;
  /** Partitions: the most stream-processor instances that can share the work. */
  numPartitions: number;
  /** How long the broker keeps records, ms (`retention.ms`). */
  retentionMs: number;
}

/**
 * The Play platform's events topic: 1 partition (the example runs one stream
 * processor; `topicPartitions` raises it for several), 7 days of retention.
 */
export const playTopicSpec = (topic: string): TopicSpec => ({
  topic,
  numPartitions: 1,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
});

/** The broker could not be asked for, or could not create, the platform's topics in time. */
export class TopicSetupError extends Error {
  readonly code = 'topic_setup_failed';
  constructor(brokers: string[], cause: unknown) {
    super(
      `cannot set up the events topics on Kafka ${brokers.join(',')}: ${(cause as Error).message ?? cause}; is the broker running? (npm run services -- up)`,
      { cause },
    );
    this.name = 'TopicSetupError';
  }
}

/**
 * Creates the topics that do not exist yet (an existing topic is left as it
 * is) and waits until each partition has a leader, so that neither the
 * producers nor the stream processor ever meet a missing topic — on a fresh
 * broker, auto-creation races the first fetch and answers "This server does
 * not host this topic-partition". Gives up after `timeoutMs` (default 30 s).
 */
export async function ensureTopics(
  brokers: string[],
  specs: TopicSpec[],
  options: { timeoutMs?: number } = {},
): Promise<{ created: string[] }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const kafka = new Kafka({
    clientId: 'play-platform-setup',
    brokers,
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: Math.min(timeoutMs, 10_000),
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await admin.connect();
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length > 0) {
          // false when another process created one meanwhile: also fine, it exists.
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((spec) => ({
              topic: spec.topic,
              numPartitions: spec.numPartitions,
              configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
            })),
          });
        }
        // Every partition led, whoever created the topic.
        await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.topic) });
        return { created: missing.map((spec) => spec.topic) };
      })(),
      deadline,
    ]);
  } catch (error) {
    throw new TopicSetupError(brokers, error);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
