export { createKeyValueStore, type KeyValueStore, type KeyValueStoreOptions } from './key-value-store.js';
export type { Item, KvPutOptions, KvScanOptions, KvUpdateOptions, Namespace } from './namespace.js';
