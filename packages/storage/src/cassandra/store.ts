import type { Client } from 'cassandra-driver';
import { z } from 'zod';
import { importPeer } from '../core/peer.js';
import type { CallOptions } from '../core/types.js';
import type { KeyValueStore, Namespace } from '../kv/index.js';
import { instrumentMethods } from '../observability/instrument.js';
import { createCassandraNamespace } from './namespace.js';
import { type CassandraStoreOptions, cassandraStoreOptionsSchema, type ResolvedCassandraOptions } from './options.js';
import { idempotentRetryPolicy } from './retry.js';
import { ensureCassandraSchema } from './schema.js';
import { createTimeSeries, type TimeSeries } from './series.js';
import { CassandraSession } from './session.js';

/** Key-value namespaces and time series on Apache Cassandra. */
export interface CassandraStore extends KeyValueStore {
  /** The namespace `name` in the key-value table; `ifVersion` writes are lightweight transactions. */
  namespace<T>(name: string, schema: z.ZodType<T>): Namespace<T>;
  /** The time series `name` in the series table: partitions of entries, newest first, with TTLs. */
  series<T>(name: string, schema: z.ZodType<T>): TimeSeries<T>;
  /**
   * Creates the keyspace (with the configured `replication`) and the two tables
   * if they do not exist. Explicit: call it once at deploy time or in tests.
   */
  ensureSchema(options?: CallOptions): Promise<void>;
  /** Fully qualified names of the store's tables (`keyspace.table`), e.g. to inspect them with cqlsh. */
  readonly tables: { readonly kv: string; readonly series: string };
  /** The driver client (owned by the store unless it was passed in). */
  readonly client: Client;
  /** Closes the driver client if the store created it. */
  close(): Promise<void>;
}

/** The `store` label of the Cassandra store's metrics, spans and channel messages. */
const ADAPTER = 'cassandra';
/** Measured namespace methods (`update` is measured through its `kv.get`/`kv.put`, `scan` per `kv.scanPage`). */
const KV_OPERATIONS = { get: 'kv.get', put: 'kv.put', delete: 'kv.delete' } as const;
/** Measured series methods (`entries` is measured through the `series.latest` pages it reads). */
const SERIES_OPERATIONS = {
  append: 'series.append',
  latest: 'series.latest',
  deletePartition: 'series.deletePartition',
} as const;

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function checkName(kind: string, name: string, schema: unknown): void {
  if (!NAME.test(name)) {
    throw new TypeError(
      `${kind}: name '${name}' must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  if (typeof (schema as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
    throw new TypeError(`${kind} '${name}': schema must be a zod schema, e.g. z.object({ … })`);
  }
}

type Driver = typeof import('cassandra-driver');

/** @throws {MissingPeerError} when cassandra-driver (an optional peer dependency) is not installed. */
async function loadDriver(): Promise<Driver> {
  const mod = await importPeer(
    'cassandra-driver',
    'createCassandraStore',
    () => import('cassandra-driver') as Promise<Driver & { default?: Driver }>,
  );
  return mod.default ?? mod;
}

/**
 * Opens a Cassandra-backed store: the key-value layer (typed namespaces,
 * put-if-version as lightweight transactions) and wide-row time series. Every
 * statement is prepared, runs at the configured consistency with a `timeoutMs`
 * deadline, and is retried (up to `retries` times, on the next host) only when
 * idempotent. When it builds the client itself, load balancing is token-aware
 * over the local data center.
 *
 * @example
 * ```ts
 * const store = await createCassandraStore({ contactPoints: ['127.0.0.1:9042'], keyspace: 'play' });
 * await store.ensureSchema();
 * const bookmarks = store.namespace('bookmarks', z.object({ position: z.number() }));
 * await bookmarks.put('p-1/t-9', { position: 42 });
 * const history = store.series('history', z.object({ title: z.string() }));
 * await history.append('p-1', { title: 't-9' }, { ttlSeconds: 90 * 24 * 3600 });
 * const { entries } = await history.latest('p-1', { limit: 10 });
 * await store.close();
 * ```
 */
export async function createCassandraStore(options: CassandraStoreOptions): Promise<CassandraStore> {
  const parsed = cassandraStoreOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createCassandraStore: ${z.prettifyError(parsed.error)}`);
  const resolved: ResolvedCassandraOptions = parsed.data;
  const driver = await loadDriver();
  const owned = resolved.client === undefined;
  const client =
    resolved.client ??
    new driver.Client({
      contactPoints: resolved.contactPoints ?? [],
      localDataCenter: resolved.localDataCenter,
      policies: {
        loadBalancing: new driver.policies.loadBalancing.TokenAwarePolicy(
          new driver.policies.loadBalancing.DCAwareRoundRobinPolicy(resolved.localDataCenter),
        ),
        retry: idempotentRetryPolicy(driver.policies.retry.RetryPolicy, resolved.retries),
      },
      socketOptions: { connectTimeout: resolved.connectTimeoutMs, readTimeout: resolved.timeoutMs },
    });
  const session = new CassandraSession(client, resolved, driver.types.consistencies);

  return {
    client,
    tables: {
      kv: `${resolved.keyspace}.${resolved.kvTable}`,
      series: `${resolved.keyspace}.${resolved.seriesTable}`,
    },
    namespace<T>(name: string, schema: z.ZodType<T>) {
      checkName('namespace', name, schema);
      return instrumentMethods(createCassandraNamespace(session, name, schema), ADAPTER, KV_OPERATIONS);
    },
    series<T>(name: string, schema: z.ZodType<T>) {
      checkName('series', name, schema);
      return instrumentMethods(
        createTimeSeries(session, driver.types.TimeUuid, name, schema),
        ADAPTER,
        SERIES_OPERATIONS,
      );
    },
    ensureSchema: (callOptions) => ensureCassandraSchema(session, callOptions),
    async close() {
      if (owned) await client.shutdown();
    },
  };
}
