import type { OutgoingMessage } from '../transport/types.js';

/** Where a record came from: its source message, and the event time it carries. */
export interface RecordPosition {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** Source offset (decimal string). */
  offset: string;
  /** Event time in ms since epoch (the envelope's `time`, or the message timestamp). */
  eventTime: number;
}

/**
 * A destination of a pipeline. `write` buffers; `flush` makes everything
 * written so far durable. The pipeline commits source offsets only after every
 * sink's `flush` resolved, so a sink that loses unflushed data on a crash loses
 * nothing: the records are consumed again.
 */
export interface Sink<T> {
  /** Name for logs and metrics. */
  readonly name: string;
  /** Buffers one record. */
  write(value: T, position: RecordPosition): void | Promise<void>;
  /** Durably writes everything buffered. */
  flush(): Promise<void>;
  /** True when the sink wants a flush now (a rotation bound was reached). */
  needsFlush?(): boolean;
  /** Releases resources (after a final flush by the pipeline). */
  close?(): Promise<void>;
}

/**
 * A sink whose records the pipeline writes itself, inside each partition's
 * checkpoint transaction (with the state changes and the offset commit), so a
 * crash never duplicates nor loses one; see `exactlyOnceTopicSink`.
 */
export interface TransactionalSink<T> extends Sink<T> {
  /** @internal the records buffered per source partition, handed to the checkpoint. */
  readonly transactional: {
    /** Destination topic. */
    readonly topic: string;
    /** Takes the records produced from source partition `topic`/`partition` since the last call. */
    take(topic: string, partition: number): OutgoingMessage[];
    /** Puts back records whose checkpoint failed, before any taken later. */
    putBack(topic: string, partition: number, messages: OutgoingMessage[]): void;
    /** Forgets the records of a partition this member no longer owns (its new owner produces them again). */
    drop(topic: string, partition: number): void;
  };
}
