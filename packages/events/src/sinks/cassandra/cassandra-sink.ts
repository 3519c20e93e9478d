import { cassandraError } from '@backlot/storage';
import { z } from 'zod';
import { optionsError } from '../../util/logger.js';
import type { Sink } from '../types.js';

/** A value a column of a Cassandra row may take (what `cassandra-driver` binds). */
export type CassandraColumnValue = string | number | bigint | boolean | Date | Buffer | null;

/**
 * The part of a `cassandra-driver` `Client` the sink uses: pass the client
 * itself (`new Client({ contactPoints, localDataCenter })`).
 */
export interface CassandraBatchClient {
  batch(
    queries: { query: string; params: unknown[] }[],
    options: { prepare: boolean; logged: boolean; isIdempotent: boolean; readTimeout: number; consistency?: number },
  ): Promise<unknown>;
}

/** Options of {@link cassandraSink}. */
export interface CassandraSinkOptions<T> {
  /** A connected `cassandra-driver` Client (required). */
  client: CassandraBatchClient;
  /** The table, `keyspace.table` (required; create it yourself, e.g. with a window's key and start in its primary key). */
  table: string;
  /** The row of a record: column name → value; it must hold the whole primary key (required). */
  row: (value: T) => Record<string, CassandraColumnValue>;
  /** The partition-key columns of the table: rows are batched per partition (required). */
  partitionKey: string[];
  /** The clustering columns of the table (default none): with the partition key, a row's identity. */
  clusteringKey?: string[] | undefined;
  /** The row expires after this many seconds (default: never). */
  ttlSeconds?: number | undefined;
  /** Rows per batch statement, within one partition (default 50). */
  batchSize?: number | undefined;
  /** Batches in flight during a flush (default 4). */
  concurrency?: number | undefined;
  /** Deadline of each batch, ms (default 10000). */
  timeoutMs?: number | undefined;
  /** The driver's consistency level for the writes, e.g. `types.consistencies.localQuorum` (default: the client's). */
  consistency?: number | undefined;
}

const identifier = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
const optionsSchema = z.object({
  client: z.custom<CassandraBatchClient>(
    (value) => typeof (value as { batch?: unknown } | undefined)?.batch === 'function',
    'client is required: a connected cassandra-driver Client',
  ),
  table: z
    .string({ error: "table is required: 'keyspace.table'" })
    .regex(
      /^[a-z][a-z0-9_]{0,47}\.[a-z][a-z0-9_]{0,47}$/,
      "table must be 'keyspace.table' in lower-case letters, digits, _",
    ),
  row: z.custom<(value: unknown) => Record<string, unknown>>(
    (v) => typeof v === 'function',
    'row is required: a function (record) => { column: value }',
  ),
  partitionKey: z
    .array(z.string().regex(identifier, 'partitionKey columns must be CQL identifiers'), {
      error: "partitionKey is required: the table's partition-key columns, e.g. ['key']",
    })
    .min(1, "partitionKey must name at least one column, e.g. ['key']"),
  clusteringKey: z
    .array(z.string().regex(identifier, 'clusteringKey columns must be CQL identifiers'), {
      error: "clusteringKey must be the table's clustering columns, e.g. ['window_start']",
    })
    .optional(),
  ttlSeconds: z.number().int().min(1).max(630_720_000, 'ttlSeconds must be at most 630720000 (20 years)').optional(),
  batchSize: z.number().int().min(1).max(1000, 'batchSize must be an integer from 1 to 1000').optional(),
  concurrency: z.number().int().positive('concurrency must be a positive integer').optional(),
  timeoutMs: z.number().int().positive('timeoutMs must be a positive number of milliseconds').optional(),
  consistency: z.number().int().min(0).optional(),
});

/**
 * A sink that upserts window results or per-key aggregates into a Cassandra
 * table. Rows are coalesced by primary key between flushes (the latest wins),
 * grouped by partition, and written as unlogged single-partition batches:
 * idempotent, so a replay after a crash rewrites the same rows. A failed batch
 * fails the flush with a coded `BackendError` (`retryable` for timeouts and
 * unavailable replicas), and the pipeline does not commit the source offsets.
 *
 * @example
 * ```ts
 * // CREATE TABLE play.views_per_title (title text, window_start timestamp, views bigint,
 * //   PRIMARY KEY ((title), window_start))
 * stream.to(cassandraSink({
 *   client,
 *   table: 'play.views_per_title',
 *   partitionKey: ['title'],
 *   clusteringKey: ['window_start'],
 *   row: (w: { key: string; start: number; value: number }) => ({ title: w.key, window_start: new Date(w.start), views: w.value }),
 * }));
 * ```
 */
export function cassandraSink<T>(options: CassandraSinkOptions<T>): Sink<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('cassandraSink', parsed.error);
  const { client, table, partitionKey } = options;
  const primaryKey = [...partitionKey, ...(options.clusteringKey ?? [])];
  const batchSize = options.batchSize ?? 50;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ttl = options.ttlSeconds ? ` USING TTL ${options.ttlSeconds}` : '';
  /** Buffered rows: partition → primary key → row (the latest written). */
  let buffered = new Map<string, Map<string, Record<string, CassandraColumnValue>>>();
  const statements = new Map<string, string>();

  const statementOf = (columns: string[]) => {
    const signature = columns.join(',');
    let cql = statements.get(signature);
    if (!cql) {
      for (const column of columns) {
        if (!identifier.test(column))
          throw new TypeError(`cassandraSink: row column '${column}' is not a CQL identifier`);
      }
      cql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${ttl}`;
      statements.set(signature, cql);
    }
    return cql;
  };

  return {
    name: 'cassandra',
    write(value) {
      const row = options.row(value);
      const missing = primaryKey.filter((column) => row[column] === undefined || row[column] === null);
      if (missing.length > 0) {
        throw new TypeError(`cassandraSink: row has no value for primary-key column(s) ${missing.join(', ')}`);
      }
      const keyOf = (columns: string[]) =>
        JSON.stringify(columns.map((c) => (row[c] instanceof Date ? (row[c] as Date).getTime() : String(row[c]))));
      const partition = keyOf(partitionKey);
      let rows = buffered.get(partition);
      if (!rows) {
        rows = new Map();
        buffered.set(partition, rows);
      }
      rows.set(keyOf(primaryKey), row); // the latest aggregate of a key replaces the older one
    },
    async flush() {
      const pending = buffered;
      buffered = new Map();
      const batches: { partition: string; rows: Record<string, CassandraColumnValue>[] }[] = [];
      for (const [partition, rows] of pending) {
        const all = [...rows.values()];
        for (let i = 0; i < all.length; i += batchSize) batches.push({ partition, rows: all.slice(i, i + batchSize) });
      }
      let next = 0;
      const failures: unknown[] = [];
      const worker = async () => {
        while (next < batches.length && failures.length === 0) {
          const batch = batches[next++] as (typeof batches)[number];
          const queries = batch.rows.map((row) => {
            const columns = Object.keys(row).sort();
            return { query: statementOf(columns), params: columns.map((c) => row[c]) };
          });
          try {
            await client.batch(queries, {
              prepare: true,
              logged: false,
              isIdempotent: true,
              readTimeout: timeoutMs,
              ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
            });
          } catch (error) {
            failures.push(cassandraError(`cassandraSink batch on ${table}`, error));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
      if (failures.length > 0) {
        // Nothing is dropped: what was not confirmed goes back in the buffer, and anything written
        // meanwhile replaces it (it is newer).
        for (const [partition, rows] of buffered) {
          const merged = pending.get(partition) ?? new Map();
          for (const [key, row] of rows) merged.set(key, row);
          pending.set(partition, merged);
        }
        buffered = pending;
        throw failures[0];
      }
    },
  };
}
