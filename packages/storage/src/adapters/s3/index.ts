export type { S3CommandMessage, S3OperationMetrics, S3StoreMetrics } from './metrics.js';
export type { S3StoreOptions } from './options.js';
export { createS3Store, type S3Store } from './s3-store.js';
