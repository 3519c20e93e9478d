import { ensureTopics as ensureEventTopics } from '@backlot/events';

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
 * processor; `topicPartitions` raises it), 7 days of retention. With
 * checkpointed window state the processor's windows are per partition, so
 * trending per title needs the events keyed by title for one result per title,
 * or (as here, keyed by profile) the processor's trending sink adds up the
 * partitions' shares; a partition with no new events holds back only its own
 * windows.
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
      `cannot set up the events topics on Kafka ${brokers.join(',')}: ${((cause as Error).message ?? String(cause)).replace(/\s*\n\s*/g, ' ')}; is the broker running? (npm run services -- up)`,
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
 * The SDK's `ensureTopics` does the work (explicit partitions and retention).
 */
export async function ensureTopics(
  brokers: string[],
  specs: TopicSpec[],
  options: { timeoutMs?: number } = {},
): Promise<{ created: string[] }> {
  try {
    return await ensureEventTopics({
      brokers,
      timeoutMs: options.timeoutMs ?? 30_000,
      topics: specs.map((spec) => ({
        topic: spec.topic,
        partitions: spec.numPartitions,
        retentionMs: spec.retentionMs,
      })),
    });
  } catch (error) {
    throw new TopicSetupError(brokers, error);
  }
}
