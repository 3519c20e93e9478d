import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createDirSyncer } from '../src/adapters/filesystem/dir-sync.js';
import {
  encodeHeader,
  HEADER_READ_AHEAD,
  type ObjectHeader,
  openObjectFile,
  readBody,
} from '../src/adapters/filesystem/object-file.js';
import { createFilesystemStore, isBackendError, isNotFoundError } from '../src/index.js';
import { rejection } from '../src/testing/index.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-fs-layout-'));
let n = 0;
const freshRoot = () => join(base, `root-${n++}`);

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Writes an object the way earlier versions did: a metadata file naming a body file beside it. */
async function writeLegacy(root: string, name: string, body: string, etagHex: string) {
  const meta = {
    v: 1,
    key: name,
    size: Buffer.byteLength(body),
    etag: `"${etagHex}"`,
    lastModified: Date.parse('2026-01-02T03:04:05Z'),
    contentType: 'text/plain',
    metadata: { origin: 'v1' },
    body: `${name}~b${etagHex}`,
  };
  await writeFile(join(root, `${name}~b${etagHex}`), body);
  await writeFile(join(root, `${name}~m`), JSON.stringify(meta));
}

describe('filesystem store: one file per object', () => {
  it('a put leaves exactly one file for the key, holding its header and body', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('one', 'first');
    await store.put('one', Readable.from([Buffer.from('sec'), Buffer.from('ond')]));
    expect((await readdir(root)).filter((name) => !name.startsWith('.'))).toEqual(['one~o']);
    const raw = await readFile(join(root, 'one~o'));
    expect(raw.subarray(raw.length - 6).toString()).toBe('second');
    const info = await store.head('one');
    expect(info.size).toBe(6);
    expect((await store.get('one', { range: { offset: 2, length: 3 } })).body.toString()).toBe('con');
  });

  it('a damaged object file is a non-retryable BackendError naming the file, never a raw error', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('broken', 'fine');
    for (const damage of [
      Buffer.alloc(0),
      Buffer.from('not an object file'),
      Buffer.from([0, 0x42, 0x4b, 0x32, 0, 0]),
    ]) {
      await writeFile(join(root, 'broken~o'), damage);
      for (const call of [() => store.get('broken'), () => store.head('broken'), () => store.getStream('broken')]) {
        const error = await rejection(call());
        expect(isBackendError(error), String(error)).toBe(true);
        expect((error as { retryable: boolean }).retryable).toBe(false);
        expect(String(error)).toContain('broken~o');
      }
    }
  });
});

describe('filesystem store: objects written by earlier versions', () => {
  it('reads them (get, ranges, stream, head, list), replaces them on the next write, and deletes them whole', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('warm', 'x'); // the root exists
    await writeLegacy(root, 'old', 'legacy body', 'aa'.repeat(16));
    await writeLegacy(root, 'gone', 'to delete', 'bb'.repeat(16));

    const got = await store.get('old');
    expect(got.body.toString()).toBe('legacy body');
    expect(got).toMatchObject({ etag: `"${'aa'.repeat(16)}"`, contentType: 'text/plain', metadata: { origin: 'v1' } });
    expect((await store.get('old', { range: { offset: 7, length: 4 } })).body.toString()).toBe('body');
    const keys: string[] = [];
    for await (const entry of store.list()) if (entry.type === 'object') keys.push(entry.key);
    expect(keys).toEqual(['gone', 'old', 'warm']);

    // A conditional write against the legacy etag replaces it; its two files go.
    await store.put('old', 'new body', { ifMatch: got.etag });
    expect((await store.get('old')).body.toString()).toBe('new body');
    expect((await readdir(root)).filter((name) => name.startsWith('old'))).toEqual(['old~o']);

    await store.delete('gone');
    expect(isNotFoundError(await rejection(store.head('gone')))).toBe(true);
    expect((await readdir(root)).filter((name) => name.startsWith('gone'))).toEqual([]);
  });
});

describe('object file header', () => {
  const header = fc.record({
    v: fc.constant(2 as const),
    key: fc.string({ minLength: 1, maxLength: 300 }),
    etag: fc.string({ maxLength: 40 }),
    lastModified: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    contentType: fc.string({ maxLength: 60 }),
    metadata: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 200 }), { maxKeys: 8 }),
  });

  it('round-trips any header and body; the size is rewritten in place with the same length (property)', async () => {
    const dir = await mkdtemp(join(base, 'headers-'));
    let i = 0;
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.uint8Array({ maxLength: 9000 }),
        fc.integer({ min: 8, max: 5000 }),
        async (fields, bytes, readAhead) => {
          const body = Buffer.from(bytes);
          const full: ObjectHeader = { ...fields, size: body.length };
          const encoded = encodeHeader(full);
          expect(encoded.length).toBe(encodeHeader({ ...full, size: 0 }).length);
          const path = join(dir, `f${i++}`);
          await writeFile(path, Buffer.concat([encoded, body]));
          const opened = await openObjectFile(path, Math.max(readAhead, 8));
          try {
            expect(opened?.header).toEqual(full);
            if (!opened) return;
            expect(opened.bodyOffset).toBe(encoded.length);
            expect(Buffer.compare(await readBody(opened, 0, body.length), body)).toBe(0);
            const from = Math.floor(body.length / 3);
            const slice = await readBody(opened, from, body.length - from);
            expect(Buffer.compare(slice, body.subarray(from))).toBe(0);
          } finally {
            await opened?.handle.close();
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(HEADER_READ_AHEAD).toBeGreaterThan(8);
  });
});

describe('folder syncs shared by concurrent writes', () => {
  it('answers each caller with a sync that started after it asked; callers during one share the next', async () => {
    const started: { dir: string; finish: () => void }[] = [];
    const sync = createDirSyncer(
      (dir) =>
        new Promise<void>((resolve) => {
          started.push({ dir, finish: resolve });
        }),
    );
    const answered: string[] = [];
    const ask = (dir: string, name: string) => sync(dir).then(() => answered.push(name));

    const a = ask('/d', 'a'); // starts sync 1
    expect(started).toHaveLength(1);
    const b = ask('/d', 'b'); // sync 1 runs: b waits for sync 2
    const c = ask('/d', 'c'); // shares sync 2 with b
    const other = ask('/e', 'other'); // another folder: its own sync at once
    expect(started.map((s) => s.dir)).toEqual(['/d', '/e']);

    started[0]?.finish();
    await a;
    expect(answered).toEqual(['a']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started.map((s) => s.dir)).toEqual(['/d', '/e', '/d']); // sync 2 began only after sync 1
    expect(answered).toEqual(['a']); // b and c are not answered by sync 1
    started[2]?.finish();
    await Promise.all([b, c]);
    expect(answered).toEqual(['a', 'b', 'c']);
    started[1]?.finish();
    await other;
    // Nothing left running: the next caller starts a sync of its own at once.
    const d = ask('/d', 'd');
    expect(started).toHaveLength(4);
    started[3]?.finish();
    await d;
  });

  it('a failed sync fails its callers only; the next callers get a sync of their own', async () => {
    let calls = 0;
    const sync = createDirSyncer(async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    });
    await expect(sync('/d')).rejects.toThrow('EIO');
    await expect(sync('/d')).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
