/**
 * Every `diagnostics_channel` name `@backlot/storage` publishes on, in one
 * place (for APMs that subscribe to channels rather than OpenTelemetry).
 */

/**
 * Tracing channel of every store operation (`tracingChannel`:
 * `tracing:backlot:storage:operation:start|end|asyncStart|asyncEnd|error`),
 * with a {@link StorageOperationMessage} as context.
 */
export const STORAGE_OPERATION_CHANNEL = 'backlot:storage:operation';

/** Channel on which every S3 SDK command's outcome (attempts, status) is published. */
export const S3_COMMAND_CHANNEL = 'backlot:storage:s3:command';

/** The context of one store operation on {@link STORAGE_OPERATION_CHANNEL}. */
export interface StorageOperationMessage {
  /** The store's adapter name (`memory`, `filesystem`, `s3`, `cassandra`). */
  store: string;
  /**
   * The operation: `put`, `get`, `getStream`, `head`, `delete`, `deleteMany`, `listPage`, `copy`, `presign`;
   * on the Cassandra store `kv.get`, `kv.put`, `kv.delete`, `kv.scanPage`, `series.append`, `series.latest`,
   * `series.deletePartition`.
   */
  operation: string;
  /** The key (the source key of a copy); absent for listings and batch deletes. */
  key: string | undefined;
}
