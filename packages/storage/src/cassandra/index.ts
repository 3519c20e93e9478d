export { type CassandraFailure, cassandraError } from './errors.js';
export type { CassandraConsistency, CassandraSerialConsistency, CassandraStoreOptions } from './options.js';
export type { SeriesAppendOptions, SeriesEntry, SeriesPage, SeriesReadOptions, TimeSeries } from './series.js';
export { type CassandraStore, createCassandraStore } from './store.js';
