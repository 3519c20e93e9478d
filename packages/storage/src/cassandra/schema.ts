import type { CallOptions } from '../core/types.js';
import type { CassandraSession } from './session.js';

const replicationLiteral = (replication: Record<string, string | number>) =>
  `{ ${Object.entries(replication)
    .map(
      ([key, value]) =>
        `'${key.replaceAll("'", "''")}': ${typeof value === 'number' ? value : `'${value.replaceAll("'", "''")}'`}`,
    )
    .join(', ')} }`;

/**
 * @internal The CQL of the adapter's schema:
 * - `<kvTable>`: one row per record, partition (namespace, bucket), clustered by id;
 * - `<seriesTable>`: one partition per (series, key), entries newest first.
 */
export function schemaStatements(session: CassandraSession): string[] {
  const { keyspace, kvTable, seriesTable, replication } = session.options;
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replicationLiteral(replication)}`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${kvTable} (
      namespace text, bucket int, id text, value text, version text,
      PRIMARY KEY ((namespace, bucket), id))`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${seriesTable} (
      series text, pkey text, at timestamp, seq timeuuid, value text,
      PRIMARY KEY ((series, pkey), at, seq)) WITH CLUSTERING ORDER BY (at DESC, seq DESC)`,
  ];
}

/** @internal Creates the keyspace and tables if missing (schema changes are not retried: they are not idempotent). */
export async function ensureCassandraSchema(session: CassandraSession, options?: CallOptions): Promise<void> {
  for (const cql of schemaStatements(session)) {
    // DDL is not prepared; it gets the longer of timeoutMs and 30 s (schema agreement takes time).
    await session.ddl(cql, options);
  }
}
