import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFilesystemStore,
  createMemoryStore,
  createS3Store,
  isStorageError,
  type ObjectStore,
  type S3Store,
} from '../src/index.js';
import { client, dropBucket, freshBucket } from './s3-env.js';

// Every adapter accepts and rejects the same keys and metadata, and every
// rejection is a non-retryable StorageError: the same random inputs go to all three.
let dir: string;
let s3: S3Store;
let stores: ObjectStore[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backlot-cross-'));
  s3 = createS3Store({ bucket: await freshBucket(), client });
  stores = [createMemoryStore(), createFilesystemStore({ root: dir, fsync: false }), s3];
});

afterAll(async () => {
  await dropBucket(s3);
  client.destroy();
  await rm(dir, { recursive: true, force: true });
});

type Outcome = { ok: true; metadata: Record<string, string> } | { ok: false; code: string; retryable: boolean };

async function outcome(store: ObjectStore, key: string, metadata: Record<string, string>): Promise<Outcome> {
  try {
    await store.put(key, 'v', { metadata });
    const read = await store.head(key);
    await store.delete(key);
    return { ok: true, metadata: read.metadata };
  } catch (error) {
    expect(isStorageError(error), `${store.adapter}: ${String(error)}`).toBe(true);
    return {
      ok: false,
      code: (error as { code: string }).code,
      retryable: (error as { retryable: boolean }).retryable,
    };
  }
}

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
const anyText = fc.string({ unit: 'binary', maxLength: 12 });
const names = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), printable, anyText);
const values = fc.oneof(printable, anyText, fc.constantFrom('Amélie', ' padded', 'x'.repeat(1500)));

describe('every adapter accepts and rejects the same metadata', () => {
  it('same outcome on memory, filesystem and S3; accepted metadata round-trips; rejections are non-retryable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(names, values, { maxKeys: 3 }), async (metadata) => {
        const results = [];
        for (const store of stores) results.push(await outcome(store, 'prop/meta', metadata));
        expect(results[1], 'filesystem vs memory').toEqual(results[0]);
        expect(results[2], 's3 vs memory').toEqual(results[0]);
        const [first] = results as [Outcome];
        if (first.ok) {
          expect(first.metadata).toEqual(
            Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v])),
          );
        } else {
          expect(first).toMatchObject({ code: 'BACKLOT_STORAGE_VALIDATION', retryable: false });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('same outcome for keys of any characters, up to and past 1024 bytes (the filesystem path limit aside)', async () => {
    const key = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 0, maxLength: 40 }),
      fc.integer({ min: 1015, max: 1030 }).map((n) => 'k'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        const results = [];
        for (const store of stores) results.push(await outcome(store, k, {}));
        expect(results[2], `s3 vs memory for ${JSON.stringify(k)}`).toEqual(results[0]);
        // The filesystem adds its documented rules (`.`/`..` segments, absolute paths, name and path length).
        if (results[1]?.ok !== results[0]?.ok)
          expect(results[1]).toMatchObject({ code: 'BACKLOT_STORAGE_INVALID_KEY' });
        for (const result of results) if (!result.ok) expect(result.retryable).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
