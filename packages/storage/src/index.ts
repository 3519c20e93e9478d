export { createMemoryStore } from './adapters/memory.js';
export { createS3Store, type S3StoreOptions } from './adapters/s3.js';
export {
  InvalidKeyError,
  isInvalidKeyError,
  isNotFoundError,
  NotFoundError,
  StorageError,
  type StorageErrorCode,
} from './errors.js';
export {
  assertValidKey,
  type CallOptions,
  DEFAULT_CONTENT_TYPE,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';
