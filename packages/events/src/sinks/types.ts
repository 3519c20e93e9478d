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
