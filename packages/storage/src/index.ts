export type { PrometheusRegistry } from '@backlot/metrics-core';
export { createFilesystemStore, type FilesystemStoreOptions } from './adapters/filesystem/index.js';
export { createMemoryStore } from './adapters/memory/index.js';
export {
  createS3Store,
  type S3CommandMessage,
  type S3OperationMetrics,
  type S3Store,
  type S3StoreMetrics,
  type S3StoreOptions,
} from './adapters/s3/index.js';
export {
  type CassandraConsistency,
  type CassandraFailure,
  type CassandraSerialConsistency,
  type CassandraStore,
  type CassandraStoreOptions,
  cassandraError,
  createCassandraStore,
  type SeriesAppendOptions,
  type SeriesEntry,
  type SeriesPage,
  type SeriesReadOptions,
  type TimeSeries,
} from './cassandra/index.js';
export { createStore, type StoreConfig, storeConfigFromEnv } from './config/create-store.js';
export { assertValidKey, MAX_KEY_BYTES } from './core/keys.js';
export { DEFAULT_CONTENT_TYPE } from './core/metadata.js';
export {
  type ByteRange,
  type CallOptions,
  type CopyOptions,
  canPresign,
  type DeleteFailure,
  type DeleteManyResult,
  type DeleteOptions,
  type GetOptions,
  type HeadOptions,
  type ListEntry,
  type ListedObject,
  type ListOptions,
  type ListPage,
  type ListPageOptions,
  type ObjectBody,
  type ObjectHeaders,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStream,
  type PresigningStore,
  type PresignOptions,
  type PutOptions,
  type ReturnedRange,
  type StoreCapabilities,
  type StoredObject,
} from './core/types.js';
export { MAX_METADATA_BYTES } from './core/write-options.js';
export {
  S3_COMMAND_CHANNEL,
  STORAGE_OPERATION_CHANNEL,
  type StorageOperationMessage,
} from './diagnostics/channels.js';
export {
  BackendError,
  ConflictError,
  InvalidKeyError,
  InvalidRangeError,
  isBackendError,
  isConflictError,
  isInvalidKeyError,
  isInvalidRangeError,
  isMissingPeerError,
  isNotFoundError,
  isPreconditionFailedError,
  isStorageError,
  isUnsupportedError,
  isValidationError,
  MissingPeerError,
  NotFoundError,
  PreconditionFailedError,
  StorageError,
  type StorageErrorCode,
  UnsupportedError,
  ValidationError,
  type ValidationIssue,
} from './errors.js';
export {
  createKeyValueStore,
  type Item,
  type KeyValueStore,
  type KeyValueStoreOptions,
  type KvPutOptions,
  type KvScanOptions,
  type KvUpdateOptions,
  type Namespace,
} from './kv/index.js';
export { registerPrometheusMetrics } from './observability/prometheus.js';
