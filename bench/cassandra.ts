/**
 * `npm run bench -- cassandra`: the Cassandra store of `@backlot/storage`
 * against raw `cassandra-driver` calls doing the same work, side by side in one
 * run (see bench/lib/harness.ts), on the node of `npm run services -- up cassandra`
 * (or BACKLOT_CASSANDRA_CONTACT_POINTS).
 *
 * Each figure is operations per second with 32 in flight, on one partition
 * layout and one consistency level (LOCAL_QUORUM) for both subjects:
 * - kv_put_ops_s / kv_get_ops_s: a JSON record written / read by id
 *   (Backlot: zod validation on write and read, a version per record);
 * - series_append_ops_s: an entry appended to a wide-row partition (with a TTL);
 * - series_latest_ops_s: the latest 20 entries of a partition;
 * - *_cpu_us: this process's CPU time per operation (the client's own cost:
 *   driver, adapter, JSON), steadier than throughput on a loaded machine.
 * The raw subject runs the same prepared statements on its own client with the
 * same options (token-aware load balancing, readTimeout), and JSON.stringify /
 * JSON.parse of the same values, without validation.
 */
import { randomUUID } from 'node:crypto';
import { createCassandraStore } from '@backlot/storage';
import cassandra from 'cassandra-driver';
import { z } from 'zod';
import { type Figures, runBench } from './lib/harness.ts';

const contactPoints = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');
const OPS = Number(process.env.BENCH_CASSANDRA_OPS ?? 2000);
const IN_FLIGHT = 32;
const KEYSPACE = 'backlot_bench';
const suffix = randomUUID().replaceAll('-', '').slice(0, 8);

const bookmark = z.object({ title: z.string(), position: z.number().int().nonnegative(), device: z.string() });
type Bookmark = z.infer<typeof bookmark>;
const recordOf = (i: number): Bookmark => ({ title: `title-${i % 500}`, position: i * 7, device: 'tv' });

/**
 * Runs `op(i)` for i in [0, OPS) with IN_FLIGHT at a time: operations per
 * second, and this process's CPU time per operation in µs (the client's own
 * cost — driver, adapter, JSON — which the load of a shared machine moves far
 * less than the throughput).
 */
async function measure(op: (i: number) => Promise<unknown>): Promise<{ ops: number; cpuUs: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < OPS) await op(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { ops: OPS / seconds, cpuUs: (used.user + used.system) / OPS };
}

/** The figures of one subject's round: each operation's throughput and client CPU. */
async function figures(ops: {
  put: (i: number) => Promise<unknown>;
  get: (i: number) => Promise<unknown>;
  append: (i: number) => Promise<unknown>;
  latest: (i: number) => Promise<unknown>;
}): Promise<Figures> {
  const put = await measure(ops.put);
  const get = await measure(ops.get);
  const append = await measure(ops.append);
  const latest = await measure(ops.latest);
  return {
    kv_put_ops_s: put.ops,
    kv_get_ops_s: get.ops,
    series_append_ops_s: append.ops,
    series_latest_ops_s: latest.ops,
    kv_put_cpu_us: put.cpuUs,
    kv_get_cpu_us: get.cpuUs,
    series_append_cpu_us: append.cpuUs,
    series_latest_cpu_us: latest.cpuUs,
  };
}

export default async function bench(): Promise<void> {
  const store = await createCassandraStore({
    contactPoints,
    keyspace: KEYSPACE,
    kvTable: `kv_${suffix}`,
    seriesTable: `series_${suffix}`,
  });
  await store.ensureSchema();
  const bookmarks = store.namespace('bookmarks', bookmark);
  const history = store.series('history', bookmark);

  const { Client, policies, types } = cassandra;
  const client = new Client({
    contactPoints,
    localDataCenter: 'datacenter1',
    policies: {
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
        new policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1'),
      ),
    },
    socketOptions: { readTimeout: 5000 },
  });
  const query = { prepare: true, isIdempotent: true, consistency: types.consistencies.localQuorum };
  const kvTable = `${KEYSPACE}.raw_kv_${suffix}`;
  const seriesTable = `${KEYSPACE}.raw_series_${suffix}`;
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${kvTable} (namespace text, bucket int, id text, value text, version text, PRIMARY KEY ((namespace, bucket), id))`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${seriesTable} (series text, pkey text, at timestamp, seq timeuuid, value text, PRIMARY KEY ((series, pkey), at, seq)) WITH CLUSTERING ORDER BY (at DESC, seq DESC)`,
  );
  const rawPut = `INSERT INTO ${kvTable} (namespace, bucket, id, value, version) VALUES (?, ?, ?, ?, ?)`;
  const rawGet = `SELECT id, value, version FROM ${kvTable} WHERE namespace = ? AND bucket = ? AND id = ?`;
  const rawAppend = `INSERT INTO ${seriesTable} (series, pkey, at, seq, value) VALUES (?, ?, ?, ?, ?) USING TTL ?`;
  const rawLatest = `SELECT at, seq, value FROM ${seriesTable} WHERE series = ? AND pkey = ? LIMIT 20`;
  const id = (i: number) => `profile-${i % 1000}/title-${i % 500}`;
  const partition = (i: number) => `profile-${i % 50}`;

  try {
    await runBench({
      name: 'cassandra',
      unit: {
        kv_put_ops_s: 'key-value puts/s, 32 in flight (higher is better)',
        kv_get_ops_s: 'key-value gets/s, 32 in flight (higher is better)',
        series_append_ops_s: 'time-series appends/s, 32 in flight (higher is better)',
        series_latest_ops_s: 'latest-20 reads/s, 32 in flight (higher is better)',
        kv_put_cpu_us: 'client CPU µs per put (lower is better)',
        kv_get_cpu_us: 'client CPU µs per get (lower is better)',
        series_append_cpu_us: 'client CPU µs per append (lower is better)',
        series_latest_cpu_us: 'client CPU µs per latest-20 read (lower is better)',
      },
      rounds: 5,
      subjects: {
        backlot: () =>
          figures({
            put: (i) => bookmarks.put(id(i), recordOf(i)),
            get: (i) => bookmarks.get(id(i)),
            append: (i) => history.append(partition(i), recordOf(i), { ttlSeconds: 86_400 }),
            latest: (i) => history.latest(partition(i), { limit: 20 }),
          }),
        'cassandra-driver': () =>
          figures({
            put: (i) =>
              client.execute(rawPut, ['bookmarks', i % 16, id(i), JSON.stringify(recordOf(i)), randomUUID()], query),
            get: async (i) => {
              const row = (await client.execute(rawGet, ['bookmarks', i % 16, id(i)], query)).first();
              return row ? JSON.parse(row.value as string) : undefined;
            },
            append: (i) => {
              const at = new Date();
              return client.execute(
                rawAppend,
                ['history', partition(i), at, types.TimeUuid.fromDate(at), JSON.stringify(recordOf(i)), 86_400],
                query,
              );
            },
            latest: async (i) => {
              const result = await client.execute(rawLatest, ['history', partition(i)], query);
              return result.rows.map((row) => JSON.parse(row.value as string));
            },
          }),
      },
    });
  } finally {
    await client.execute(`DROP TABLE IF EXISTS ${kvTable}`);
    await client.execute(`DROP TABLE IF EXISTS ${seriesTable}`);
    await client.execute(`DROP TABLE IF EXISTS ${store.tables.kv}`);
    await client.execute(`DROP TABLE IF EXISTS ${store.tables.series}`);
    await client.shutdown();
    await store.close();
  }
}
