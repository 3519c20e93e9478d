import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isNotFoundError, isPreconditionFailedError, isValidationError, type ValidationError } from '../errors.js';
import type { KeyValueStore } from '../kv/index.js';
import { rejection } from './helpers.js';

/** Options of {@link describeKeyValueConformance}. */
export interface KeyValueConformanceOptions<S extends KeyValueStore = KeyValueStore> {
  /** Shown in test names, e.g. `cassandra`. */
  name: string;
  /** A fresh, empty key-value store for each test. */
  createStore: () => S | Promise<S>;
  /** Called after each test with the store it used (close clients, drop tables, …). */
  disposeStore?: ((store: S) => void | Promise<void>) | undefined;
  /** Racing writers in the concurrency cases (default 6). */
  racers?: number | undefined;
  /** Timeout of each case, ms (default 60000). */
  timeoutMs?: number | undefined;
}

/** Ids that break naive key encodings: separators, escapes, quotes, non-ASCII, control characters. */
export const hostileIds: readonly string[] = [
  'a/b/c',
  '../../etc/passwd',
  '%2F%00',
  'it\'s "quoted"',
  'space and\ttab',
  'ünïcødé-名前-🎬',
  'line\nbreak',
  '*?[]{}()',
  'x'.repeat(200),
];

const profile = z.object({
  name: z.string().min(1),
  maturity: z.number().int().min(0).max(18),
  language: z.string().default('en'),
});

/**
 * The conformance suite of the key-value layer: the same assertions for every
 * backend (the object-store layer on memory, filesystem or S3; Cassandra; a
 * third-party one). Call it from a vitest test file with a factory of fresh,
 * empty stores.
 *
 * @example
 * ```ts
 * import { createKeyValueStore, createMemoryStore } from '@backlot/storage';
 * import { describeKeyValueConformance } from '@backlot/storage/testing';
 * describeKeyValueConformance({ name: 'memory', createStore: () => createKeyValueStore({ store: createMemoryStore() }) });
 * ```
 */
export function describeKeyValueConformance<S extends KeyValueStore>(options: KeyValueConformanceOptions<S>): void {
  const racers = options.racers ?? 6;
  const timeout = options.timeoutMs ?? 60_000;
  const used: S[] = [];
  const fresh = async (): Promise<S> => {
    const store = await options.createStore();
    used.push(store);
    return store;
  };

  describe(`key-value conformance: ${options.name}`, () => {
    afterEach(async () => {
      const stores = used.splice(0);
      if (options.disposeStore) for (const store of stores) await options.disposeStore(store);
    });

    it('validates on write, applies schema defaults, and reads back with a version', { timeout }, async () => {
      const profiles = (await fresh()).namespace('profiles', profile);
      const saved = await profiles.put('p-1', { name: 'Ada', maturity: 16 } as z.infer<typeof profile>);
      expect(saved.value).toEqual({ name: 'Ada', maturity: 16, language: 'en' });
      expect(typeof saved.version).toBe('string');
      expect(await profiles.get('p-1')).toEqual({ id: 'p-1', value: saved.value, version: saved.version });
      expect(await profiles.get('missing')).toBeUndefined();

      const error = await rejection(profiles.put('p-2', { name: '', maturity: 40, language: 'en' }));
      expect(isValidationError(error)).toBe(true);
      expect((error as ValidationError).operation).toBe('write');
      expect((error as ValidationError).issues.map((i) => i.path.join('.'))).toEqual(['name', 'maturity']);
      expect(await profiles.get('p-2')).toBeUndefined();
    });

    it('gives every write a new version and puts only if the version still matches', { timeout }, async () => {
      const profiles = (await fresh()).namespace('profiles', profile);
      const created = await profiles.put('p', { name: 'Ada', maturity: 12, language: 'en' }, { ifVersion: null });
      const again = await rejection(
        profiles.put('p', { name: 'Bob', maturity: 1, language: 'en' }, { ifVersion: null }),
      );
      expect(isPreconditionFailedError(again)).toBe(true);
      const updated = await profiles.put(
        'p',
        { name: 'Ada', maturity: 13, language: 'en' },
        { ifVersion: created.version },
      );
      expect(updated.version).not.toBe(created.version);
      const stale = await rejection(
        profiles.put('p', { name: 'Ada', maturity: 5, language: 'en' }, { ifVersion: created.version }),
      );
      expect(isPreconditionFailedError(stale)).toBe(true);
      expect(await profiles.get('p')).toEqual({ id: 'p', value: updated.value, version: updated.version });

      await profiles.delete('p');
      await profiles.delete('p'); // a missing record is not an error
      const gone = await rejection(
        profiles.put('p', { name: 'Ada', maturity: 5, language: 'en' }, { ifVersion: updated.version }),
      );
      expect(isNotFoundError(gone) || isPreconditionFailedError(gone)).toBe(true);
      expect(await profiles.get('p')).toBeUndefined();
    });

    it('conditional creates racing: exactly one winner, and the record is the winner’s', { timeout }, async () => {
      const licences = (await fresh()).namespace('licences', z.object({ owner: z.number() }));
      const results = await Promise.allSettled(
        Array.from({ length: racers }, (_, owner) => licences.put('title-1', { owner }, { ifVersion: null })),
      );
      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isPreconditionFailedError(r.reason)).toBe(true);
      const winner = (winners[0] as PromiseFulfilledResult<{ value: { owner: number }; version: string }>).value;
      expect(await licences.get('title-1')).toEqual({ id: 'title-1', value: winner.value, version: winner.version });
    });

    it('update() retries racing read-modify-writes so that no update is lost', { timeout }, async () => {
      const counters = (await fresh()).namespace('counters', z.object({ n: z.number() }));
      await Promise.all(
        Array.from({ length: racers }, () =>
          counters.update('views', (current) => ({ n: (current?.n ?? 0) + 1 }), { maxAttempts: 100 }),
        ),
      );
      expect((await counters.get('views'))?.value).toEqual({ n: racers });
    });

    it('scans a namespace (or a prefix of ids) in id order, apart from other namespaces', { timeout }, async () => {
      const kv = await fresh();
      const bookmarks = kv.namespace('bookmarks', z.object({ position: z.number() }));
      const other = kv.namespace('bookmarks-archive', z.object({ position: z.number() }));
      for (const id of ['u1/t2', 'u1/t1', 'u2/t1', 'u10/t9', 'u1']) await bookmarks.put(id, { position: id.length });
      await other.put('u1/t1', { position: 0 });
      const all: string[] = [];
      for await (const item of bookmarks.scan({ pageSize: 2 })) all.push(item.id);
      expect(all).toEqual(['u1', 'u1/t1', 'u1/t2', 'u10/t9', 'u2/t1']);
      const ofU1: string[] = [];
      for await (const item of bookmarks.scan({ prefix: 'u1/' })) ofU1.push(item.id);
      expect(ofU1).toEqual(['u1/t1', 'u1/t2']);
      await bookmarks.delete('u1/t1');
      const after: string[] = [];
      for await (const item of bookmarks.scan()) after.push(item.id);
      expect(after).toEqual(['u1', 'u1/t2', 'u10/t9', 'u2/t1']);
      const archived: string[] = [];
      for await (const item of other.scan()) archived.push(item.id);
      expect(archived).toEqual(['u1/t1']);
    });

    it('keeps hostile ids and values intact, and finds them by scan', { timeout }, async () => {
      const notes = (await fresh()).namespace('notes', z.object({ text: z.string() }));
      for (const id of hostileIds) await notes.put(id, { text: `${id}\u0000'"\\` });
      for (const id of hostileIds) expect((await notes.get(id))?.value).toEqual({ text: `${id}\u0000'"\\` });
      const seen: string[] = [];
      for await (const item of notes.scan()) seen.push(item.id);
      expect([...seen].sort()).toEqual([...hostileIds].sort());
      await expect(notes.get('')).rejects.toThrow(/non-empty/);
    });
  });
}
