import { expect, it } from 'vitest';
import type { ObjectStore } from '../../core/types.js';
import type { SuiteContext } from '../context.js';

async function keysOf(store: ObjectStore, options: Parameters<ObjectStore['list']>[0] = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(options)) keys.push(entry.type === 'object' ? entry.key : `[${entry.prefix}]`);
  return keys;
}

async function putMany(store: ObjectStore, keys: string[]): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) await store.put(key, key);
    }),
  );
}

/** Prefixes, delimiters, pagination over more than 1000 keys, cursors, deleteMany. */
export function listingCases(ctx: SuiteContext): void {
  it('lists in key order with prefix and delimiter, like S3', async () => {
    const store = await ctx.store();
    await putMany(store, ['a/1', 'a/2', 'a/b/3', 'a-z', 'b/4', 'c', 'ab']);
    expect(await keysOf(store)).toEqual(['a-z', 'a/1', 'a/2', 'a/b/3', 'ab', 'b/4', 'c']);
    expect(await keysOf(store, { delimiter: '/' })).toEqual(['a-z', '[a/]', 'ab', '[b/]', 'c']);
    expect(await keysOf(store, { prefix: 'a/', delimiter: '/' })).toEqual(['a/1', 'a/2', '[a/b/]']);
    expect(await keysOf(store, { prefix: 'a' })).toEqual(['a-z', 'a/1', 'a/2', 'a/b/3', 'ab']);
    expect(await keysOf(store, { prefix: 'a/b' })).toEqual(['a/b/3']);
    expect(await keysOf(store, { prefix: 'nothing/' })).toEqual([]);
    expect(await keysOf(store, { startAfter: 'a/2' })).toEqual(['a/b/3', 'ab', 'b/4', 'c']);

    const page = await store.listPage({ prefix: 'a/' });
    expect(page.objects.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/b/3']);
    expect(page.objects[0]).toMatchObject({ size: 3 });
    expect(page.objects[0]?.etag).toMatch(/^".+"$/);
    expect(page.objects[0]?.lastModified).toBeInstanceOf(Date);
    expect(page.cursor).toBeUndefined();
  });

  it(
    'paginates over more than 1000 keys with cursors, never more than a page at a time, then deleteMany empties it',
    async () => {
      const store = await ctx.store();
      const n = ctx.options.manyKeys;
      const keys = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await putMany(store, keys);

      // Default page size: 1000, as on S3.
      const first = await store.listPage({ prefix: 'many/' });
      expect(first.objects.length).toBe(Math.min(n, 1000));
      if (n > 1000) expect(first.cursor).toBeTypeOf('string');

      // Small pages through the cursor: every key once, in order.
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listPage({ prefix: 'many/', pageSize: 250, ...(cursor ? { cursor } : {}) });
        expect(page.objects.length).toBeLessThanOrEqual(250);
        seen.push(...page.objects.map((o) => o.key));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(keys);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(n / 250));

      // The async iterator walks every page.
      expect(await keysOf(store, { prefix: 'many/' })).toEqual(keys);

      // Delete them all, streaming the listing's keys into deleteMany.
      async function* listedKeys() {
        for await (const entry of store.list({ prefix: 'many/' })) if (entry.type === 'object') yield entry.key;
      }
      const result = await store.deleteMany(listedKeys());
      expect(result).toEqual({ deleted: n, failed: [] });
      expect(await keysOf(store, { prefix: 'many/' })).toEqual([]);
    },
    ctx.options.slowTimeoutMs,
  );

  it('pages through common prefixes with a delimiter', async () => {
    const store = await ctx.store();
    const keys: string[] = [];
    for (let d = 0; d < 5; d++) for (let f = 0; f < 3; f++) keys.push(`dirs/${d}/${f}`);
    await putMany(store, [...keys, 'dirs/top']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listPage({
        prefix: 'dirs/',
        delimiter: '/',
        pageSize: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.prefixes, ...page.objects.map((o) => o.key));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(['dirs/0/', 'dirs/1/', 'dirs/2/', 'dirs/3/', 'dirs/4/', 'dirs/top']);
  });

  it('deleteMany takes an array and ignores missing keys', async () => {
    const store = await ctx.store();
    await putMany(store, ['dm/1', 'dm/2', 'dm/3']);
    expect(await store.deleteMany(['dm/1', 'dm/3', 'dm/missing'])).toEqual({ deleted: 3, failed: [] });
    expect(await keysOf(store, { prefix: 'dm/' })).toEqual(['dm/2']);
  });

  it('rejects bad listing options with a message naming the field', async () => {
    const store = await ctx.store();
    await expect(store.listPage({ pageSize: 0 })).rejects.toThrow(/pageSize/);
    await expect(store.listPage({ pageSize: 1001 })).rejects.toThrow(/pageSize/);
  });
}
