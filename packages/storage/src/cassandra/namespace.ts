import { randomUUID } from 'node:crypto';
import type { types } from 'cassandra-driver';
import type { z } from 'zod';
import type { CallOptions } from '../core/types.js';
import { NotFoundError, PreconditionFailedError } from '../errors.js';
import type { KvScanOptions, Namespace } from '../kv/namespace.js';
import { decodeRecord, validateRecord } from '../kv/records.js';
import { updateWithRetries } from '../kv/update.js';
import { instrumentMethods } from '../observability/instrument.js';
import type { CassandraSession, StatementOptions } from './session.js';

/** Bucket of an id: spreads a namespace over `buckets` partitions (FNV-1a of its UTF-8 bytes). */
export function bucketOf(id: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    // ASCII is its own UTF-8 byte: hashed without encoding; anything else through its UTF-8 bytes.
    if (code >= 0x80) return utf8BucketOf(id, buckets);
    hash ^= code;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

function utf8BucketOf(id: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

interface Row {
  id: string;
  value: string;
  version: string;
}

/**
 * @internal A namespace of records in the key-value table: one row per record,
 * partitioned by (namespace, bucket), clustered by id. `ifVersion` writes are
 * lightweight transactions (Paxos, `serialConsistency`).
 */
export function createCassandraNamespace<T>(
  session: CassandraSession,
  name: string,
  schema: z.ZodType<T>,
): Namespace<T> {
  const { keyspace, kvTable, buckets } = session.options;
  const table = `${keyspace}.${kvTable}`;
  const keyOf = (id: string) => {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${name}: ids must be non-empty strings`);
    return `${name}/${id}`;
  };
  const where = 'namespace = ? AND bucket = ? AND id = ?';
  const selectOne = `SELECT id, value, version FROM ${table} WHERE ${where}`;
  const insert = `INSERT INTO ${table} (namespace, bucket, id, value, version) VALUES (?, ?, ?, ?, ?)`;
  const insertIfAbsent = `${insert} IF NOT EXISTS`;
  const updateIf = `UPDATE ${table} SET value = ?, version = ? WHERE ${where} IF version = ?`;
  const remove = `DELETE FROM ${table} WHERE ${where}`;
  const scanFrom = `SELECT id, value, version FROM ${table} WHERE namespace = ? AND bucket = ? AND id >= ?`;

  // One page of one bucket of a scan, measured as `kv.scanPage` (key: the namespace and the prefix).
  const pages = instrumentMethods(
    {
      scanPage: (_key: string, values: (string | number)[], options: StatementOptions) =>
        session.execute('scan', scanFrom, values, options),
    },
    'cassandra',
    { scanPage: 'kv.scanPage' },
  );

  const keyValues = (id: string) => [name, bucketOf(id, buckets), id] as const;

  const namespace: Namespace<T> = {
    name,

    async get(id, options) {
      keyOf(id);
      const result = await session.execute('get', selectOne, [name, bucketOf(id, buckets), id], {
        signal: options?.signal,
        idempotent: true,
      });
      const row = result.first() as unknown as Row | null;
      if (!row) return undefined;
      return { id, value: decodeRecord(() => keyOf(id), row.value, schema), version: row.version };
    },

    async put(id, value, options) {
      const key = keyOf(id);
      const valid = validateRecord(key, value, 'write', schema);
      const body = JSON.stringify(valid);
      const version = randomUUID();
      const call = { signal: options?.signal };
      if (options?.ifVersion === undefined) {
        await session.execute('put', insert, [...keyValues(id), body, version], { ...call, idempotent: true });
        return { id, value: valid, version };
      }
      const conditional = options.ifVersion === null;
      const result = conditional
        ? await session.execute('put', insertIfAbsent, [...keyValues(id), body, version], {
            ...call,
            idempotent: false,
          })
        : await session.execute('put', updateIf, [body, version, ...keyValues(id), options.ifVersion], {
            ...call,
            idempotent: false,
          });
      const row = result.first() as unknown as ({ '[applied]': boolean } & Partial<Row>) | null;
      if (row?.['[applied]'] === true) return { id, value: valid, version };
      if (conditional) throw new PreconditionFailedError(key, 'If-None-Match: *');
      if (row?.version === undefined || row.version === null) throw new NotFoundError(key);
      throw new PreconditionFailedError(key, `If-Match: "${options.ifVersion}"`);
    },

    async delete(id, options) {
      keyOf(id);
      await session.execute('delete', remove, [...keyValues(id)], { ...options, idempotent: true });
    },

    async *scan(options?: KvScanOptions) {
      const prefix = options?.prefix ?? '';
      const pageSize = options?.pageSize ?? 1000;
      const cursors = Array.from({ length: buckets }, (_, bucket) =>
        bucketCursor(pages, `${name}/${prefix}`, [name, bucket, prefix], pageSize, options),
      );
      // k-way merge of the buckets, each already in id order.
      const heads = await Promise.all(cursors.map((cursor) => cursor.next()));
      for (;;) {
        let min = -1;
        for (let i = 0; i < heads.length; i++) {
          const head = heads[i];
          if (head && !head.done && (min < 0 || head.value.id < (heads[min] as IteratorYieldResult<Row>).value.id))
            min = i;
        }
        if (min < 0) return;
        const row = (heads[min] as IteratorYieldResult<Row>).value;
        if (!row.id.startsWith(prefix)) {
          heads[min] = { done: true, value: undefined };
          continue;
        }
        yield { id: row.id, value: decodeRecord(keyOf(row.id), row.value, schema), version: row.version };
        heads[min] = await (cursors[min] as AsyncGenerator<Row>).next();
      }
    },

    update(id, fn, options) {
      return updateWithRetries(namespace, id, fn, options);
    },
  };
  return namespace;
}

async function* bucketCursor(
  pages: { scanPage(key: string, values: (string | number)[], options: StatementOptions): Promise<types.ResultSet> },
  key: string,
  values: (string | number)[],
  pageSize: number,
  options: CallOptions | undefined,
): AsyncGenerator<Row> {
  let pageState: string | undefined;
  do {
    const result: types.ResultSet = await pages.scanPage(key, values, {
      signal: options?.signal,
      idempotent: true,
      fetchSize: pageSize,
      pageState,
    });
    for (const row of result.rows) yield row as unknown as Row;
    pageState = result.pageState ?? undefined;
  } while (pageState);
}
