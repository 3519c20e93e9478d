import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackendError, isBackendError } from '@backlot/storage';
import { type FaultProxy, faultProxy } from '@backlot/storage/testing';
import { Client } from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { type CassandraBatchClient, cassandraSink } from '../../src/index.js';

// The shared Cassandra node behind a proxy this file cuts: the node keeps running for everyone else.
const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const [node = '127.0.0.1:9042'] = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');
const keyspace = 'backlot_events_test';
const table = `${keyspace}.sink_faults_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
const at = { topic: 't', partition: 0, offset: '0', eventTime: 0 };

describe.skipIf(cassandraOff)('cassandraSink: the node goes away in the middle of a flush', () => {
  const direct = new Client({
    contactPoints: [node],
    localDataCenter: 'datacenter1',
    socketOptions: { readTimeout: 30_000 },
  });
  let proxy: FaultProxy | undefined;
  let viaProxy: Client | undefined;
  afterAll(async () => {
    await viaProxy?.shutdown();
    await proxy?.close();
    await direct.execute(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await direct.shutdown();
  });

  it('the flush fails with a coded retryable error (no hang) and keeps every row; once the node is back, every row is written, the latest value of each', {
    timeout: 120_000,
  }, async () => {
    await direct.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = { 'class': 'SimpleStrategy', 'replication_factor': 1 }`,
    );
    await direct.execute(`CREATE TABLE IF NOT EXISTS ${table} (k text, n int, v int, PRIMARY KEY ((k), n))`);
    proxy = await faultProxy(node);
    viaProxy = new Client({
      contactPoints: [`127.0.0.1:${proxy.port}`],
      localDataCenter: 'datacenter1',
      socketOptions: { connectTimeout: 2000, readTimeout: 2000 },
    });
    // The node goes away after the 5th acknowledged batch, while others are in flight.
    let acknowledged = 0;
    let cutting: Promise<void> | undefined;
    const client: CassandraBatchClient = {
      async batch(queries, options) {
        const result = await (viaProxy as Client).batch(queries, options);
        if (++acknowledged === 5) cutting = proxy?.cut();
        return result;
      },
    };
    const sink = cassandraSink<{ k: string; n: number; v: number }>({
      client,
      table,
      partitionKey: ['k'],
      clusteringKey: ['n'],
      batchSize: 10,
      concurrency: 4,
      timeoutMs: 2000,
      row: (r) => ({ k: r.k, n: r.n, v: r.v }),
    });
    const expected = new Map<string, number>();
    const write = (k: string, n: number, v: number) => {
      sink.write({ k, n, v }, at);
      expected.set(`${k}/${n}`, v);
    };
    for (let i = 0; i < 2000; i++) write(`k${i % 100}`, Math.floor(i / 100), i);

    const error = await sink.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    await cutting;
    expect(isBackendError(error)).toBe(true);
    expect((error as BackendError).retryable).toBe(true);
    expect(acknowledged).toBeGreaterThanOrEqual(5);
    expect(acknowledged).toBeLessThan(200);

    // Written while the node is away: a newer value of some rows, and new rows.
    for (let i = 0; i < 50; i++) write(`k${i}`, 0, 10_000 + i);
    write('k-new', 0, 1);

    await proxy.restore();
    // What the pipeline does on a failed flush: keep the offsets, flush again later.
    let flushed = false;
    for (let attempt = 0; attempt < 60 && !flushed; attempt++) {
      flushed = await sink.flush().then(
        () => true,
        (e: unknown) => {
          expect(isBackendError(e) && e.retryable).toBe(true);
          return false;
        },
      );
      if (!flushed) await sleep(500);
    }
    expect(flushed).toBe(true);

    // Counted from outside, on the node directly: every row once, with its latest value.
    const result = await direct.execute(`SELECT k, n, v FROM ${table}`, [], { fetchSize: 5000 });
    const rows = new Map(result.rows.map((row) => [`${row.k}/${row.n}`, row.v as number]));
    expect(rows.size).toBe(2001);
    expect(rows).toEqual(expected);
  });
});
