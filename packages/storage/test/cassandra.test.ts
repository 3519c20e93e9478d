import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bucketOf } from '../src/cassandra/namespace.js';
import {
  type BackendError,
  type CassandraStore,
  createCassandraStore,
  isBackendError,
  isValidationError,
} from '../src/index.js';
import { hostileIds, hungServer, rejection } from '../src/testing/index.js';
import { cassandraOff, freshCassandraStore, rawClient } from './cassandra-env.js';

const stores: CassandraStore[] = [];
const raw = rawClient();
afterAll(async () => {
  for (const store of stores) await store.close();
  await raw.shutdown();
});
async function store(options: Parameters<typeof freshCassandraStore>[0] = {}): Promise<CassandraStore> {
  const s = await freshCassandraStore(options);
  stores.push(s);
  return s;
}
const tableOf = (s: CassandraStore, kind: 'kv' | 'series') => s.tables[kind];

const viewing = z.object({ title: z.string(), position: z.number().int().nonnegative() });

describe('cassandra store: options', () => {
  it('rejects bad options naming the field and the fix', async () => {
    const cases: [unknown, string, string][] = [
      [{ keyspace: 'play' }, 'contactPoints', 'give either client'],
      [{ contactPoints: [], keyspace: 'play' }, 'contactPoints', 'at least one node'],
      [{ contactPoints: ['127.0.0.1:9042'], keyspace: 'Bad-Name' }, 'keyspace', 'lower-case'],
      [{ contactPoints: ['127.0.0.1:9042'], keyspace: 'play', consistency: 'most' }, 'consistency', "'localQuorum'"],
      [{ contactPoints: ['127.0.0.1:9042'], keyspace: 'play', timeoutMs: -1 }, 'timeoutMs', 'positive'],
      [{ contactPoints: ['127.0.0.1:9042'], keyspace: 'play', retries: 99 }, 'retries', '0 to 10'],
      [{ contactPoints: ['127.0.0.1:9042'], keyspace: 'play', buckets: 0 }, 'buckets', '1 to 1024'],
    ];
    for (const [options, field, hint] of cases) {
      const error = await rejection(createCassandraStore(options as never));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain(`at ${field}`);
      expect((error as Error).message).toContain(hint);
    }
  });

  it('a node that accepts connections and never answers: a coded deadline error, not a hang', async () => {
    const server = await hungServer();
    const s = await createCassandraStore({
      contactPoints: [server.endpoint.replace('http://', '')],
      keyspace: 'play',
      timeoutMs: 500,
      connectTimeoutMs: 500,
    });
    try {
      const error = await rejection(s.namespace('profiles', viewing).get('p-1'));
      expect(isBackendError(error)).toBe(true);
      expect((error as BackendError).retryable).toBe(true);
      expect(['deadline', 'no-host-available']).toContain((error as BackendError).status);
      expect(server.connections()).toBeGreaterThan(0);
    } finally {
      await s.close();
      await server.close();
    }
  });
});

describe.skipIf(cassandraOff)('cassandra store on the real node', () => {
  it('key-value rows as counted from outside with the raw driver (not our adapter)', async () => {
    const s = await store();
    const ns = s.namespace('bookmarks', viewing);
    for (let i = 0; i < 25; i++) await ns.put(`p-1/t-${i}`, { title: `t-${i}`, position: i });
    await ns.put('p-1/t-0', { title: 't-0', position: 99 }); // an overwrite is the same row
    const count = await raw.execute(`SELECT count(*) AS n FROM ${tableOf(s, 'kv')}`);
    expect(Number(count.first()?.n)).toBe(25);
    const row = await raw.execute(
      `SELECT value FROM ${tableOf(s, 'kv')} WHERE namespace = ? AND bucket = ? AND id = ?`,
      ['bookmarks', (await import('../src/cassandra/namespace.js')).bucketOf('p-1/t-0', 16), 'p-1/t-0'],
      { prepare: true },
    );
    expect(JSON.parse(row.first()?.value)).toEqual({ title: 't-0', position: 99 });
  });

  it('a record that no longer matches its schema is a ValidationError on read', async () => {
    const s = await store();
    await s.namespace('profiles', z.object({ name: z.string() })).put('p', { name: 'Ada' });
    const error = await rejection(s.namespace('profiles', z.object({ name: z.number() })).get('p'));
    expect(isValidationError(error)).toBe(true);
    expect(error).toMatchObject({ operation: 'read', key: 'profiles/p' });
  });

  it('time series: newest first, the latest N a page at a time, partitions apart', async () => {
    const s = await store();
    const history = s.series('history', viewing);
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 12; i++) {
      await history.append('p-1', { title: `t-${i}`, position: i }, { at: new Date(t0 + i * 1000) });
    }
    // Two entries at the same instant are both kept.
    await history.append('p-1', { title: 'same-instant', position: 0 }, { at: new Date(t0 + 11_000) });
    await history.append('p-2', { title: 'other', position: 1 }, { at: new Date(t0) });

    const first = await history.latest('p-1', { limit: 5 });
    expect(first.entries).toHaveLength(5);
    expect(first.entries.slice(2).map((e) => e.value.title)).toEqual(['t-10', 't-9', 't-8']);
    expect(new Set(first.entries.slice(0, 2).map((e) => e.value.title))).toEqual(new Set(['t-11', 'same-instant']));
    expect(first.nextPage).toBeDefined();
    const second = await history.latest('p-1', { limit: 5, page: first.nextPage });
    expect(second.entries.map((e) => e.value.title)).toEqual(['t-7', 't-6', 't-5', 't-4', 't-3']);

    const all: string[] = [];
    for await (const entry of history.entries('p-1', { limit: 4 })) all.push(entry.value.title);
    expect(all).toHaveLength(13);
    expect(all.slice(-3)).toEqual(['t-2', 't-1', 't-0']);
    expect((await history.latest('p-2')).entries.map((e) => e.value.title)).toEqual(['other']);
    expect((await history.latest('nobody')).entries).toEqual([]);

    const counted = await raw.execute(
      `SELECT count(*) AS n FROM ${tableOf(s, 'series')} WHERE series = ? AND pkey = ?`,
      ['history', 'p-1'],
    );
    expect(Number(counted.first()?.n)).toBe(13);
    await history.deletePartition('p-1');
    expect((await history.latest('p-1')).entries).toEqual([]);
  });

  it('time series pages: a full last page is followed by an empty one; a forged or hostile page is a TypeError', async () => {
    const s = await store();
    const history = s.series('history', viewing);
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 6; i++) await history.append('p-1', { title: `t-${i}`, position: i }, { at: new Date(t0 + i) });
    const first = await history.latest('p-1', { limit: 3 });
    const second = await history.latest('p-1', { limit: 3, page: first.nextPage });
    expect(second.entries.map((e) => e.value.title)).toEqual(['t-2', 't-1', 't-0']);
    const third = await history.latest('p-1', { limit: 3, page: second.nextPage });
    expect(third).toEqual({ entries: [], nextPage: undefined });
    // A short page has no next one.
    expect((await history.latest('p-1', { limit: 4, page: first.nextPage })).nextPage).toBeUndefined();
    const hostile = ['', 'x', '1_2', `${t0}_not-a-uuid`, `${t0}_${randomUUID()}`, `${t0}_${first.nextPage}`, "'; DROP"];
    for (const page of hostile) {
      await expect(history.latest('p-1', { page })).rejects.toThrow(/page must be the nextPage of a previous latest/);
    }
  });

  it('property: the bucket of an id is FNV-1a of its UTF-8 bytes (ASCII fast path included)', () => {
    const reference = (id: string, buckets: number) => {
      let hash = 0x811c9dc5;
      for (const byte of Buffer.from(id, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      return hash % buckets;
    };
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), fc.integer({ min: 1, max: 1024 }), (id, n) => {
        expect(bucketOf(id, n)).toBe(reference(id, n));
      }),
      { numRuns: 2000 },
    );
    expect(bucketOf('profile-1/title-9', 16)).toBe(reference('profile-1/title-9', 16));
  });

  it('time series: an entry with a TTL expires, one without stays', async () => {
    const s = await store();
    const history = s.series('history', viewing);
    await history.append('p-1', { title: 'kept', position: 1 });
    await history.append('p-1', { title: 'expiring', position: 2 }, { ttlSeconds: 1 });
    expect((await history.latest('p-1')).entries).toHaveLength(2);
    let titles: string[] = [];
    for (let i = 0; i < 50; i++) {
      titles = (await history.latest('p-1')).entries.map((e) => e.value.title);
      if (titles.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(titles).toEqual(['kept']);
    await expect(history.append('p-1', { title: 'x', position: 0 }, { ttlSeconds: -5 })).rejects.toThrow(/ttlSeconds/);
    await expect(history.latest('p-1', { limit: 0 })).rejects.toThrow(/limit/);
    await expect(history.append('p-1', { title: 'x', position: -1 })).rejects.toThrow(/position/);
    await expect(history.append('p-1', { title: 'x', position: 0 }, { at: new Date(-1e15) })).rejects.toThrow(
      /at must/,
    );
    await expect(history.append('p-1', { title: 'x', position: 0 }, { at: new Date(Number.NaN) })).rejects.toThrow(
      /at must/,
    );
  });

  it('time series: appends with a dedupeKey are kept once however often they are replayed', async () => {
    const s = await store();
    const history = s.series('history', viewing);
    const at = new Date(Date.UTC(2026, 0, 1, 12));
    const first = await history.append('p-1', { title: 't-1', position: 5 }, { at, dedupeKey: 'event-1' });
    for (let replay = 0; replay < 3; replay++) {
      const again = await history.append('p-1', { title: 't-1', position: 5 }, { at, dedupeKey: 'event-1' });
      expect(again.id).toBe(first.id);
    }
    // Another event at the same instant, and appends without a key, are entries of their own.
    await history.append('p-1', { title: 't-2', position: 6 }, { at, dedupeKey: 'event-2' });
    await history.append('p-1', { title: 't-3', position: 7 }, { at });
    await history.append('p-1', { title: 't-3', position: 7 }, { at });
    const count = await raw.execute(
      `SELECT count(*) AS n FROM ${tableOf(s, 'series')} WHERE series = ? AND pkey = ?`,
      ['history', 'p-1'],
      { prepare: true },
    );
    expect(Number(count.first()?.n)).toBe(4);
    expect(new Date((await history.latest('p-1')).entries[0]?.at ?? 0).getTime()).toBe(at.getTime());
    await expect(history.append('p-1', { title: 'x', position: 0 }, { dedupeKey: '' })).rejects.toThrow(/dedupeKey/);
  });

  it('property: a dedupeKey maps to one time-based UUID within the millisecond of the entry', async () => {
    const { types } = (await import('cassandra-driver')).default;
    const s = await store();
    const history = s.series('history', viewing);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        async (dedupeKey, ms) => {
          const at = new Date(ms);
          const a = await history.append('prop', { title: 't', position: 1 }, { at, dedupeKey });
          const b = await history.append('prop', { title: 't', position: 1 }, { at, dedupeKey });
          expect(b.id).toBe(a.id);
          expect(types.TimeUuid.fromString(a.id).getDate().getTime()).toBe(ms);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('property: hostile ids, partition keys and values round-trip unchanged', async () => {
    const s = await store();
    const notes = s.namespace('notes', z.object({ text: z.string(), n: z.number() }));
    const series = s.series('notes', z.object({ text: z.string() }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, unit: 'grapheme' }), fc.constantFrom(...hostileIds)),
        fc.string({ unit: 'binary' }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        async (id, text, n) => {
          const saved = await notes.put(id, { text, n });
          expect(await notes.get(id)).toEqual({
            id,
            value: { text, n: Object.is(n, -0) ? 0 : n },
            version: saved.version,
          });
          await series.append(id, { text });
          expect((await series.latest(id, { limit: 1 })).entries[0]?.value.text).toBe(text);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('cassandra time series: the time of an entry from its time UUID', () => {
  it('property: timeUuidMillis gives the millisecond the UUID was made from, whatever its ticks, node and clock', async () => {
    const { types } = (await import('cassandra-driver')).default;
    const { timeUuidMillis } = await import('../src/cassandra/series.js');
    fc.assert(
      fc.property(
        // From 1582-10-15 (the UUID epoch) to the last millisecond its 60 bits hold (year 5236).
        fc.integer({ min: -12_219_292_800_000, max: 103_072_857_660_683 }),
        fc.integer({ min: 0, max: 9999 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.uint8Array({ minLength: 2, maxLength: 2 }),
        (ms, ticks, node, clock) => {
          const uuid = types.TimeUuid.fromDate(new Date(ms), ticks, Buffer.from(node), Buffer.from(clock));
          expect(timeUuidMillis(uuid.getBuffer())).toBe(ms);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
