import cassandra from 'cassandra-driver';
import { z } from 'zod';
import { createTimeSeries } from './src/cassandra/series.ts';

const { Client, types } = cassandra;
const client = new Client({ contactPoints: ['127.0.0.1:9042'], localDataCenter: 'datacenter1' });
const ks = 'backlot_bench';
await client.execute(
  `CREATE TABLE IF NOT EXISTS ${ks}.zz_micro (series text, pkey text, at timestamp, seq timeuuid, value text, PRIMARY KEY ((series, pkey), at, seq)) WITH CLUSTERING ORDER BY (at DESC, seq DESC)`,
);
for (let i = 0; i < 20; i++) {
  const at = new Date(Date.now() - i * 1000);
  await client.execute(
    `INSERT INTO ${ks}.zz_micro (series, pkey, at, seq, value) VALUES (?,?,?,?,?)`,
    ['h', 'p', at, types.TimeUuid.fromDate(at), JSON.stringify({ title: `title-${i}`, position: i * 7, device: 'tv' })],
    { prepare: true },
  );
}
const rs = await client.execute(
  `SELECT at, seq, value FROM ${ks}.zz_micro WHERE series = ? AND pkey = ? LIMIT 20`,
  ['h', 'p'],
  { prepare: true },
);
await client.execute(`DROP TABLE ${ks}.zz_micro`);
await client.shutdown();
const schema = z.object({ title: z.string(), position: z.number().int().nonnegative(), device: z.string() });
const session = { options: { keyspace: ks, seriesTable: 'series' }, execute: async () => rs } as never;
const series = createTimeSeries(session, types.TimeUuid, 'h', schema);
const N = 20000;
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) await series.latest('p', { limit: 20 });
  const ours = ((performance.now() - t) / N) * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await (async () => rs.rows.map((r) => JSON.parse(r.value)))();
  const raw = ((performance.now() - t) / N) * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await (async () => rs.rows.map((r) => schema.parse(JSON.parse(r.value))))();
  const rawZod = ((performance.now() - t) / N) * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await (async () => rs.rows.map((r) => r.seq.toString()))();
  const ids = ((performance.now() - t) / N) * 1000;
  console.log(
    `latest-20 client µs: backlot ${ours.toFixed(1)}  raw JSON.parse ${raw.toFixed(1)}  raw+zod ${rawZod.toFixed(1)}  ids ${ids.toFixed(1)}`,
  );
}
