import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createFilesystemStore,
  createKeyValueStore,
  createMemoryStore,
  createS3Store,
  isPreconditionFailedError,
  isValidationError,
  type ObjectStore,
  type S3Store,
  type ValidationError,
} from '../src/index.js';
import { rejection } from '../src/testing/index.js';
import { client, dropBucket, freshBucket } from './s3-env.js';

const profileSchema = z.object({
  name: z.string().min(1),
  maturity: z.number().int().min(0).max(18),
  language: z.string().default('en'),
});

const base = await mkdtemp(join(tmpdir(), 'backlot-kv-'));
const s3Stores: S3Store[] = [];
afterAll(async () => {
  for (const store of s3Stores) await dropBucket(store);
  await rm(base, { recursive: true, force: true });
  client.destroy();
});

const adapters: [string, () => Promise<ObjectStore>][] = [
  ['memory', async () => createMemoryStore()],
  ['filesystem', async () => createFilesystemStore({ root: join(base, String(Math.random())) })],
  [
    's3',
    async () => {
      const store = createS3Store({ bucket: await freshBucket(), client });
      s3Stores.push(store);
      return store;
    },
  ],
];

describe.each(adapters)('key-value layer on %s', (_name, makeStore) => {
  it('validates on write, applies schema defaults, and reads back with a version', async () => {
    const kv = createKeyValueStore({ store: await makeStore() });
    const profiles = kv.namespace('profiles', profileSchema);
    const saved = await profiles.put('p/1', { name: 'Ada', maturity: 16 } as z.infer<typeof profileSchema>);
    expect(saved.value).toEqual({ name: 'Ada', maturity: 16, language: 'en' });
    expect(await profiles.get('p/1')).toEqual({ id: 'p/1', value: saved.value, version: saved.version });
    expect(await profiles.get('missing')).toBeUndefined();

    const error = await rejection(profiles.put('p/2', { name: '', maturity: 40, language: 'en' }));
    expect(isValidationError(error)).toBe(true);
    expect((error as ValidationError).operation).toBe('write');
    expect((error as ValidationError).issues.map((i) => i.path.join('.'))).toEqual(['name', 'maturity']);
    expect(await profiles.get('p/2')).toBeUndefined();
  });

  it('validates on read: a record that no longer matches its schema is a ValidationError', async () => {
    const store = await makeStore();
    await store.put('kv/profiles/bad', JSON.stringify({ name: 'Old', maturity: 'PG' }));
    await store.put('kv/profiles/garbage', 'not json');
    const profiles = createKeyValueStore({ store }).namespace('profiles', profileSchema);
    const error = await rejection(profiles.get('bad'));
    expect(isValidationError(error)).toBe(true);
    expect(error).toMatchObject({ operation: 'read', key: 'kv/profiles/bad' });
    expect(isValidationError(await rejection(profiles.get('garbage')))).toBe(true);
  });

  it('puts only if the version still matches (optimistic concurrency)', async () => {
    const profiles = createKeyValueStore({ store: await makeStore() }).namespace('profiles', profileSchema);
    const created = await profiles.put('p', { name: 'Ada', maturity: 12, language: 'en' }, { ifVersion: null });
    expect(
      isPreconditionFailedError(
        await rejection(profiles.put('p', { name: 'Bob', maturity: 1, language: 'en' }, { ifVersion: null })),
      ),
    ).toBe(true);
    const updated = await profiles.put(
      'p',
      { name: 'Ada', maturity: 13, language: 'en' },
      { ifVersion: created.version },
    );
    const stale = await rejection(
      profiles.put('p', { name: 'Ada', maturity: 99 % 18, language: 'en' }, { ifVersion: created.version }),
    );
    expect(isPreconditionFailedError(stale)).toBe(true);
    expect((await profiles.get('p'))?.version).toBe(updated.version);
  });

  it('update() retries racing read-modify-writes so that no update is lost', async () => {
    const counters = createKeyValueStore({ store: await makeStore() }).namespace(
      'counters',
      z.object({ n: z.number() }),
    );
    await Promise.all(
      Array.from({ length: 6 }, () =>
        counters.update('views', (current) => ({ n: (current?.n ?? 0) + 1 }), { maxAttempts: 50 }),
      ),
    );
    expect((await counters.get('views'))?.value).toEqual({ n: 6 });
  });

  it('scans a namespace (or a prefix of ids) in id order, separate from other namespaces', async () => {
    const kv = createKeyValueStore({ store: await makeStore() });
    const bookmarks = kv.namespace('bookmarks', z.object({ position: z.number() }));
    const other = kv.namespace('bookmarks-archive', z.object({ position: z.number() }));
    for (const id of ['u1/t2', 'u1/t1', 'u2/t1', 'u10/t9']) await bookmarks.put(id, { position: id.length });
    await other.put('u1/t1', { position: 0 });
    const all: string[] = [];
    for await (const item of bookmarks.scan({ pageSize: 2 })) all.push(item.id);
    expect(all).toEqual(['u1/t1', 'u1/t2', 'u10/t9', 'u2/t1']);
    const ofU1: string[] = [];
    for await (const item of bookmarks.scan({ prefix: 'u1/' })) ofU1.push(item.id);
    expect(ofU1).toEqual(['u1/t1', 'u1/t2']);
    await bookmarks.delete('u1/t1');
    expect(await bookmarks.get('u1/t1')).toBeUndefined();
  });
});

describe('key-value layer: options', () => {
  it('rejects bad namespaces and options with the fix in the message', () => {
    const kv = createKeyValueStore({ store: createMemoryStore() });
    expect(() => kv.namespace('Bad Name', z.object({}))).toThrow(/lower-case letters/);
    expect(() => kv.namespace('ok', {} as z.ZodType<unknown>)).toThrow(/zod schema/);
    expect(() => createKeyValueStore({} as { store: ObjectStore })).toThrow(/store is required/);
  });
});
