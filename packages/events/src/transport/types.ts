/** A message handed to a transport for sending. */
export interface OutgoingMessage {
  /** Partitioning key: messages with the same key keep their order. */
  key: string | null;
  /** The encoded event. */
  value: Buffer;
  /** Message timestamp (ms since epoch). */
  timestamp: number;
}

/**
 * The sending half of a transport. `send` must resolve only once every message
 * is durably acknowledged (Kafka: `acks: all`), and reject otherwise. By
 * default a producer has one `send` outstanding at a time; a transport that
 * sets `pipelining` above 1 takes that many at once and must (1) write each
 * partition's messages in the order the sends were called, and (2) once a
 * send failed, refuse every later one until `resume()` — the producer waits
 * for all outstanding sends to settle, backs off, calls `resume()`, and sends
 * the failed batches again in order, so nothing overtakes them.
 */
export interface TransportProducer {
  /** Sends the producer may have outstanding at once (default 1). More than 1 requires `resume`. */
  readonly pipelining?: number | undefined;
  /** Opens connections; may be called again after a failure. */
  connect(): Promise<void>;
  /** Sends one batch to `topic`; resolves when all of it is acknowledged. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Accepts sends again after a failed one (see `pipelining`). */
  resume?(): void;
  /** Closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/** A message as a consumer receives it. */
export interface ConsumedMessage {
  /** Topic it came from. */
  topic: string;
  /** Partition it came from. */
  partition: number;
  /** Its offset in the partition (a decimal string, as Kafka's are 64-bit). */
  offset: string;
  /** Its key, if any. */
  key: Buffer | null;
  /** Its value (null for a tombstone). */
  value: Buffer | null;
  /** Its timestamp (ms since epoch). */
  timestamp: number;
}

/** Messages of one partition handed to the consumer in offset order. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: readonly ConsumedMessage[];
  /** Messages after this batch still waiting in the partition (consumer lag), when the transport knows it. */
  lag: number | undefined;
}

/** A partition and the offset of the next message to read there (what a consumer commits). */
export interface PartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to consume (last processed + 1). */
  offset: string;
  /**
   * Text kept with the commit (Kafka's offset-commit metadata), read back by
   * {@link TransportConsumer.committed}; pipelines keep their window watermarks
   * there, so windows emitted before a restart are not emitted again in part.
   */
  metadata?: string | undefined;
}

/** The receiving half of a transport: a member of a consumer group. */
export interface TransportConsumer {
  /**
   * Joins the group, subscribes and calls `handler` batch by batch until
   * `close()`. Offsets are committed only through `commit` (never automatically).
   */
  run(options: {
    topics: readonly string[];
    fromBeginning: boolean;
    handler: (batch: ConsumedBatch) => Promise<void>;
    /** Called with the partitions this member owns, whenever they change (when the transport knows). */
    onAssign?: ((partitions: { topic: string; partition: number }[]) => void) | undefined;
  }): Promise<void>;
  /** Commits offsets (each the next offset to read), with their `metadata` when given. */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  /**
   * The group's committed offsets of `partitions`, with the metadata committed
   * with them; partitions without a commit are left out. Optional: without it,
   * pipelines cannot tell which windows were emitted before a restart.
   */
  committed?(partitions: readonly { topic: string; partition: number }[]): Promise<PartitionOffset[]>;
  /** Leaves the group and stops calling the handler. */
  close(): Promise<void>;
}

/**
 * Everything `@backlot/events` needs from a message broker. `kafkaTransport`
 * (kafkajs) and `embeddedLogTransport` (local files) implement it; an adapter for
 * another client (e.g. `@platformatic/kafka`) only has to implement these methods.
 */
export interface Transport {
  /** Name for logs and metrics, e.g. `kafka`, `embedded-log`. */
  readonly name: string;
  /** A new producer. */
  producer(): TransportProducer;
  /** A new consumer in group `groupId`. */
  consumer(options: { groupId: string }): TransportConsumer;
}
