/** A message handed to a transport for sending. */
export interface OutgoingMessage {
  /** Partitioning key: messages with the same key keep their order. */
  key: string | null;
  /** The encoded event. */
  value: Buffer;
  /** Message timestamp (ms since epoch). */
  timestamp: number;
  /** Kafka record headers (e.g. why a dead-lettered event was refused); transports without headers ignore them. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** A topic a producer creates itself (its dead-letter topic), with its settings. */
export interface TopicSettings {
  /** Topic name. */
  topic: string;
  /** Number of partitions. */
  partitions: number;
  /** How long records are kept (`retention.ms`), in ms. */
  retentionMs: number;
  /** Largest record the topic accepts (`max.message.bytes`), in bytes. */
  maxMessageBytes: number;
}

/** A message the broker refused for good (too large, invalid, not authorised, …). */
export interface RejectedMessage {
  /** The message, as given to `send`. */
  message: OutgoingMessage;
  /** The broker's error name, e.g. `MESSAGE_TOO_LARGE`, `INVALID_RECORD`, `TOPIC_AUTHORIZATION_FAILED`. */
  code: string;
  /** The broker's or client's explanation. */
  reason: string;
}

/** What a `send` that resolved reports: the messages refused for good (everything else is acknowledged). */
export interface SendReport {
  /** Messages the broker refused with a non-retriable error; never send them again. */
  rejected: readonly RejectedMessage[];
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
  /**
   * Sends one batch to `topic`. Resolves once every message is acknowledged,
   * except those it reports as refused for good (a poison message: too large,
   * invalid…; the rest of the batch is delivered). Rejects when the broker is
   * unreachable or failing: with a `TransportSendError` listing the messages
   * not acknowledged (the acknowledged ones are never sent again), or with any
   * other error, meaning none was acknowledged.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a transport that never refuses a message resolves with nothing.
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void | SendReport>;
  /**
   * The largest record `topic` accepts, in bytes (Kafka: the topic's
   * `max.message.bytes`), checked against each event at `emit`. Optional.
   */
  maxMessageBytes?(topic: string): Promise<number | undefined>;
  /** Accepts sends again after a failed one (see `pipelining`). */
  resume?(): void;
  /**
   * Creates a topic with the given settings unless it exists (the producer's
   * dead-letter topic). Optional: without it, the topic must exist already.
   */
  ensureTopic?(spec: TopicSettings): Promise<void>;
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
  /**
   * Its record headers as text (the first value of a repeated header), when it has any:
   * the producer writes the W3C trace context (`traceparent`, `tracestate`) here.
   */
  headers?: Readonly<Record<string, string>> | undefined;
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
