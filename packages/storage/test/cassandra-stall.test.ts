import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type BackendError, type CassandraStore, createCassandraStore, isBackendError } from '../src/index.js';
import { type FaultProxy, faultProxy, rejection } from '../src/testing/index.js';
import { cassandraOff, contactPoints, keyspace } from './cassandra-env.js';

const record = z.object({ n: z.number() });

/**
 * The shared node behind a proxy this file stalls and cuts: the node itself
 * keeps running for everyone else.
 */
describe.skipIf(cassandraOff)('cassandra store: a node that stalls after the handshake, or goes away', () => {
  let proxy: FaultProxy;
  let store: CassandraStore;
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
  });

  it('stalled after the handshake: reads, writes and appends fail with a retryable deadline error, then work again', {
    timeout: 60_000,
  }, async () => {
    proxy = await faultProxy(contactPoints[0] as string);
    const suffix = Math.random().toString(36).slice(2, 10);
    store = await createCassandraStore({
      contactPoints: [`127.0.0.1:${proxy.port}`],
      keyspace,
      kvTable: `kv_stall_${suffix}`,
      seriesTable: `series_stall_${suffix}`,
      timeoutMs: 1000,
      retries: 1,
    });
    await store.ensureSchema();
    const records = store.namespace('records', record);
    const history = store.series('history', record);
    await records.put('before', { n: 1 });

    proxy.stall(); // connected, the protocol handshake done: now nothing answers
    const failures = await Promise.all([
      rejection(records.get('before')),
      rejection(records.put('during', { n: 2 })),
      rejection(history.append('p', { n: 3 })),
      rejection(history.latest('p')),
      rejection(records.put('lwt', { n: 4 }, { ifVersion: null })),
    ]);
    for (const error of failures) {
      expect(isBackendError(error)).toBe(true);
      expect((error as BackendError).retryable).toBe(true);
      expect(['deadline', 'no-host-available']).toContain((error as BackendError).status);
    }
    // An unknown outcome says so: the write may or may not have been applied.
    expect((failures[1] as Error).message).toMatch(/may or may not have been applied/);

    proxy.resume();
    await expect
      .poll(
        () =>
          records.get('before').then(
            (item) => item?.value.n,
            () => undefined,
          ),
        {
          timeout: 30_000,
          interval: 250,
        },
      )
      .toBe(1);
  });

  it('the node gone (connections reset, port closed): a retryable error, no hang; back once it listens again', {
    timeout: 60_000,
  }, async () => {
    const records = store.namespace('records', record);
    await proxy.cut();
    const error = await rejection(records.put('gone', { n: 5 }));
    expect(isBackendError(error)).toBe(true);
    expect((error as BackendError).retryable).toBe(true);
    await proxy.restore();
    await expect
      .poll(
        () =>
          records.put('back', { n: 6 }).then(
            () => true,
            () => false,
          ),
        {
          timeout: 30_000,
          interval: 500,
        },
      )
      .toBe(true);
    expect((await records.get('back'))?.value.n).toBe(6);
  });
});
