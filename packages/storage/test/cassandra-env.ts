import { randomUUID } from 'node:crypto';
import { Client } from 'cassandra-driver';
import { afterAll } from 'vitest';
import { type CassandraStore, type CassandraStoreOptions, createCassandraStore } from '../src/index.js';

/**
 * The real Cassandra node of `scripts/services.sh up cassandra`, at
 * BACKLOT_CASSANDRA_CONTACT_POINTS (default 127.0.0.1:$BACKLOT_CASSANDRA_PORT, 9042).
 */
export const contactPoints = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
)
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);

/** Keyspace of the storage tests (tables are per test file or per store). */
export const keyspace = 'backlot_storage_test';

/** A plain driver client, not our adapter: counts rows from outside. */
export function rawClient(): Client {
  return new Client({ contactPoints, localDataCenter: 'datacenter1', socketOptions: { readTimeout: 10_000 } });
}

/** A store on fresh tables (unique names), schema created. */
export async function freshCassandraStore(options: Partial<CassandraStoreOptions> = {}): Promise<CassandraStore> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const store = await createCassandraStore({
    contactPoints,
    keyspace,
    kvTable: `kv_${suffix}`,
    seriesTable: `series_${suffix}`,
    ...options,
  });
  await store.ensureSchema();
  return store;
}

/** True when the Cassandra tests are switched off (BACKLOT_CASSANDRA=off: no node started, tests skipped). */
export const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';

/**
 * For a test file: a raw driver client and a `store()` giving fresh stores,
 * all closed after the file's tests.
 */
export function cassandraFixture(): {
  raw: Client;
  store: (options?: Partial<CassandraStoreOptions>) => Promise<CassandraStore>;
} {
  const stores: CassandraStore[] = [];
  const raw = rawClient();
  afterAll(async () => {
    for (const store of stores) await store.close();
    await raw.shutdown();
  });
  return {
    raw,
    async store(options = {}) {
      const store = await freshCassandraStore(options);
      stores.push(store);
      return store;
    },
  };
}
