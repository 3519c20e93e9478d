import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createFilesystemStore,
  type InvalidKeyError,
  isConflictError,
  isInvalidKeyError,
  isNotFoundError,
} from '../src/index.js';
import { rejection } from '../src/testing/index.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-fs-safety-'));
let n = 0;
const freshRoot = () => join(base, `root-${n++}`, 'store');

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));

/** Runs the race worker in its own process; resolves with its stdout. */
function worker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsHooks, join(fixtures, 'fs-race-worker.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`worker exited ${code}: ${err}`)),
    );
  });
}

describe('filesystem store: keys never escape the root', () => {
  it.each([
    ['../outside', /'\.\.' path segments are not allowed/],
    ['a/../../outside', /'\.\.' path segments are not allowed/],
    ['a/./b', /'\.' path segments are not allowed/],
    ['..\\outside', /'\.\.' path segments are not allowed/],
    ['/etc/passwd', /absolute paths are not allowed/],
    ['C:\\Windows\\x', /absolute paths are not allowed/],
    ['a\0b', /control characters/],
    ['a\nb', /control characters/],
  ])('rejects %j with a clear InvalidKeyError', async (key, message) => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    for (const call of [
      () => store.put(key, 'x'),
      () => store.get(key),
      () => store.head(key),
      () => store.delete(key),
      () => store.copy('ok', key),
    ]) {
      const error = await rejection(call());
      expect(isInvalidKeyError(error), String(error)).toBe(true);
      expect((error as InvalidKeyError).message).toMatch(message);
    }
    expect(existsSync(join(root, '..', 'outside'))).toBe(false);
  });

  it('stores every other key strictly under the root, whatever its characters', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    for (const key of ['..hidden', 'a/..b', 'a/b..', '...', '~d', 'x~m', '%2E%2E/up']) {
      await store.put(key, key);
      expect((await store.get(key)).body.toString()).toBe(key);
    }
    expect(await readdir(join(root, '..'))).toEqual(['store']);
  });

  it('rejects a segment too long for a file name with a clear message', async () => {
    const store = createFilesystemStore({ root: freshRoot() });
    const error = await rejection(store.put('A'.repeat(300), 'x'));
    expect(isInvalidKeyError(error)).toBe(true);
    expect(String(error)).toMatch(/segment is too long.*split it with '\/'/);
  });
});

describe('filesystem store: atomic writes', () => {
  it('gives a new etag on every write, even of the same bytes', async () => {
    const store = createFilesystemStore({ root: freshRoot() });
    const a = await store.put('same', 'bytes');
    const b = await store.put('same', 'bytes');
    expect(a.etag).not.toBe(b.etag);
    expect((await store.head('same')).etag).toBe(b.etag);
  });

  it('readers racing writers see one whole version or the other, never a mix', async () => {
    const store = createFilesystemStore({ root: freshRoot(), fsync: false });
    const size = 256 * 1024;
    await store.put('flip', Buffer.alloc(size, 'a'));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) await store.put('flip', Buffer.alloc(size, i % 2 ? 'a' : 'b'));
      writing = false;
    })();
    const reader = async () => {
      let reads = 0;
      while (writing || reads === 0) {
        const { body, size: reported } = await store.get('flip');
        expect(body.byteLength).toBe(size);
        expect(reported).toBe(size);
        const first = body[0];
        expect(body.every((byte) => byte === first)).toBe(true);
        reads++;
      }
    };
    await Promise.all([writer, reader(), reader()]);
  });

  it('ignores leftovers of a crash: stray temp files and orphan body files', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('kept', 'ok');
    await writeFile(join(root, '.backlot-tmp', 'crashed-write'), 'half a body');
    await writeFile(join(root, 'kept~bdeadbeef'), 'orphan body of a write that never committed');
    expect((await store.get('kept')).body.toString()).toBe('ok');
    const keys: string[] = [];
    for await (const entry of store.list()) if (entry.type === 'object') keys.push(entry.key);
    expect(keys).toEqual(['kept']);
  });

  it('removes emptied folders on delete', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('deep/er/key', 'x');
    await store.delete('deep/er/key');
    expect((await readdir(root)).filter((name) => !name.startsWith('.'))).toEqual([]);
    expect(isNotFoundError(await rejection(store.get('deep/er/key')))).toBe(true);
  });
});

describe('filesystem store: conditional writes across processes', () => {
  it('of create-only writes racing from separate processes, exactly one wins', async () => {
    const root = freshRoot();
    await mkdir(root, { recursive: true });
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => worker([root, 'create', 'race/key', String(i), startAt])),
    );
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'lost')).toHaveLength(5);
    const store = createFilesystemStore({ root });
    expect((await store.get('race/key')).body.toString()).toBe(`process ${results.indexOf('won')}`);
  }, 60_000);

  it('compare-and-swap increments from separate processes lose no update', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('counter', '0');
    const startAt = String(Date.now() + 1500);
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => worker([root, 'increment', 'counter', '15', startAt])),
    );
    for (const out of outputs) expect(out).toMatch(/^done \d+$/);
    expect((await store.get('counter')).body.toString()).toBe('60');
  }, 60_000);

  it('breaks the stale lock of a dead process, and times out on a live one with a retryable ConflictError', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root, lockTimeoutMs: 300 });
    await store.put('locked', 'v1');

    // A lock left by a process that died.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('close', resolve));
    const lockPath = join(root, 'locked~l');
    await writeFile(
      lockPath,
      JSON.stringify({ pid: dead.pid, host: (await import('node:os')).hostname(), token: 'x' }),
    );
    await store.put('locked', 'v2');
    expect((await store.get('locked')).body.toString()).toBe('v2');
    expect(existsSync(lockPath)).toBe(false);

    // A lock held by a live process (this one) is respected until the timeout.
    await writeFile(
      lockPath,
      JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), token: 'y' }),
    );
    const error = await rejection(store.put('locked', 'v3'));
    expect(isConflictError(error)).toBe(true);
    expect((error as { retryable: boolean }).retryable).toBe(true);
    expect((await store.get('locked')).body.toString()).toBe('v2');
    await rm(lockPath);
  });
});
