import type { OutgoingMessage } from '../transport/types.js';

/** A source partition: the unit of state, as a Kafka Streams task. */
export interface SourcePartition {
  topic: string;
  partition: number;
}

/** One entry of a partition's state: `value` `null` deletes the entry. */
export interface StateEntry {
  key: string;
  value: string | null;
}

/** The state of one source partition as restored from the changelog. */
export interface RestoredPartition {
  /** The latest value of each entry. */
  entries: Map<string, string>;
  /** The next source offset the state covers (`undefined` when nothing was checkpointed yet). */
  offset: string | undefined;
}

/** What one checkpoint of a source partition makes durable, atomically. */
export interface PartitionCheckpoint extends SourcePartition {
  /** The next source offset to consume. */
  offset: string;
  /** State entries changed since the previous checkpoint. */
  changes: StateEntry[];
  /** Records of exactly-once sinks produced from this partition since the previous checkpoint. */
  outputs: { topic: string; messages: OutgoingMessage[] }[];
}

/**
 * Where a pipeline keeps its window state and commits its offsets, so both
 * stay consistent; {@link kafkaCheckpoints} implements it on a Kafka changelog
 * topic with transactions.
 */
export interface CheckpointStore {
  /** Name for logs and metrics. */
  readonly name: string;
  /**
   * Creates (or checks) the changelog topic for the pipeline's source topics,
   * and the dead-letter topic when there is one; called by `pipeline.start()`.
   */
  prepare(context: {
    groupId: string;
    topics: readonly string[];
    deadLetterTopic?: string | undefined;
    /** The pipeline's transport (`Transport.name`): a store may refuse one it cannot commit offsets for. */
    transport: string;
  }): Promise<void>;
  /** Takes ownership of partitions (fencing their previous owner) and reads their state back. */
  assign(partitions: readonly SourcePartition[]): Promise<Map<string, RestoredPartition>>;
  /** Gives up partitions this member no longer owns. */
  revoke(partitions: readonly SourcePartition[]): Promise<void>;
  /**
   * Writes the state changes, the outputs and the offset commit of a
   * partition as one unit: all of them or none. Rejects with a
   * `BACKLOT_EVENTS_PARTITION_LOST` {@link StateError} when another member
   * owns the partition now.
   */
  commit(checkpoint: PartitionCheckpoint): Promise<void>;
  /** Closes connections. */
  close(): Promise<void>;
}

/** @internal `topic\u0000partition`, the pipeline's partition id. */
export const partitionId = (p: SourcePartition): string => `${p.topic}\u0000${p.partition}`;
