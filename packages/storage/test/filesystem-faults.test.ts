import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ownedName, self } from '../src/adapters/filesystem/owner.js';
import {
  createFilesystemStore,
  createMemoryStore,
  isBackendError,
  isInvalidKeyError,
  isStorageError,
} from '../src/index.js';
import { rejection } from '../src/testing/index.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-fs-faults-'));
let n = 0;
const freshRoot = () => join(base, `root-${n++}`);
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid as number;
}

describe('filesystem store: no raw Node errors', () => {
  it('a key whose path is too long for the OS is an InvalidKeyError (memory accepts it)', async () => {
    const key = `a${'/'.repeat(1000)}`;
    const store = createFilesystemStore({ root: freshRoot() });
    for (const call of [
      () => store.put(key, 'x'),
      () => store.get(key),
      () => store.head(key),
      () => store.delete(key),
    ]) {
      const error = await rejection(call());
      expect(isInvalidKeyError(error), String(error)).toBe(true);
      expect(String(error)).toMatch(/too long for the filesystem adapter/);
    }
    const memory = createMemoryStore();
    await memory.put(key, 'x');
    expect((await memory.get(key)).body.toString()).toBe('x');
  });

  it('every key within 1024 bytes either round-trips or is an InvalidKeyError, never a raw error', async () => {
    const store = createFilesystemStore({ root: freshRoot(), fsync: false });
    const segment = fc.oneof(fc.constant(''), fc.string({ maxLength: 80 }), fc.stringMatching(/^[A-Zé]{0,60}$/));
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 300 }), async (segments) => {
        const key = segments.join('/');
        try {
          await store.put(key, 'v');
          expect((await store.get(key)).body.toString()).toBe('v');
          await store.delete(key);
        } catch (error) {
          expect(isStorageError(error), String(error)).toBe(true);
          expect(isInvalidKeyError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a root that is a regular file is a BackendError with the cause, on every call', async () => {
    const root = join(freshRoot(), 'file');
    await mkdir(join(root, '..'), { recursive: true });
    await writeFile(root, 'not a folder');
    const store = createFilesystemStore({ root });
    for (const call of [
      () => store.put('k', 'v'),
      () => store.get('k'),
      () => store.getStream('k'),
      () => store.head('k'),
      () => store.delete('k'),
      () => store.listPage(),
      () => store.copy('a', 'b'),
    ]) {
      const error = await rejection(call());
      expect(isBackendError(error), String(error)).toBe(true);
      expect(String(error)).toMatch(/not a folder/);
      expect((error as { cause?: { code?: string } }).cause?.code).toMatch(/ENOTDIR|EEXIST/);
      expect((error as { retryable: boolean }).retryable).toBe(false);
    }
  });

  it('a folder in the way of a key is a BackendError, not a raw EISDIR/ENOTDIR', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('k', 'v');
    // Something else wrote into the store's folder: the object file's path is now a folder.
    await rm(join(root, 'k~o'));
    await mkdir(join(root, 'k~o'));
    const error = await rejection(store.get('k'));
    expect(isStorageError(error), String(error)).toBe(true);
  });
});

describe('filesystem store: locks nobody can attribute do not stall a key', () => {
  it('an empty lock file left by a killed writer is broken after a short grace', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('k', 'v1');
    await writeFile(join(root, 'k~l'), '');
    await store.put('k', 'v2'); // the old code waited lockTimeoutMs and threw ConflictError
    expect((await store.get('k')).body.toString()).toBe('v2');
    await writeFile(join(root, 'k~l'), '');
    await store.delete('k');
    expect(await readdir(root)).not.toContain('k~l');
  });

  it('a partial lock file is broken too, even with a short lockTimeoutMs once past the grace', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root, lockTimeoutMs: 500 });
    await store.put('k', 'v1');
    const lock = join(root, 'k~l');
    await writeFile(lock, '{"pid":12');
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past);
    await store.put('k', 'v2', { ifMatch: (await store.head('k')).etag });
    expect((await store.get('k')).body.toString()).toBe('v2');
  });

  it('a lock of a dead process whose pid was reused is broken (its start time differs)', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root, lockTimeoutMs: 500 });
    await store.put('k', 'v1');
    // This process's pid, with another start time: a lock of a process that died before this one started.
    const { hostname } = await import('node:os');
    await writeFile(
      join(root, 'k~l'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        token: 't',
        start: self.start.startsWith('t') ? 't1' : self.start,
      }),
    );
    if (self.start.startsWith('t')) {
      await store.put('k', 'v2');
      expect((await store.get('k')).body.toString()).toBe('v2');
    }
  });
});

describe('filesystem store: crashed writers leave no temp files behind', () => {
  it('opening a store removes temp files of dead writers and old unowned ones, never a live writer’s', async () => {
    const root = freshRoot();
    const tmp = join(root, '.backlot-tmp');
    await mkdir(tmp, { recursive: true });
    const dead = `${self.host}-${await deadPid()}-t1.0123456789abcdef01234567`;
    const live = ownedName(); // this process: alive
    const foreign = `ffffffff-1-t1.0123456789abcdef01234567`; // another host, recent
    const oldUnowned = 'b3c1a2d4-0000-4000-8000-000000000000';
    const freshUnowned = 'c3c1a2d4-0000-4000-8000-000000000000';
    for (const name of [dead, live, foreign, oldUnowned, freshUnowned]) await writeFile(join(tmp, name), 'leftover');
    const past = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(tmp, oldUnowned), past, past);

    const store = createFilesystemStore({ root });
    await expect(store.head('anything')).rejects.toThrow(/no object/);
    expect((await readdir(tmp)).sort()).toEqual([foreign, freshUnowned, live].sort());
  });

  it('a writer killed mid-stream leaves a temp file that the next store removes; the key keeps its old version', async () => {
    const root = freshRoot();
    const store = createFilesystemStore({ root });
    await store.put('video', 'old version');
    const child = spawn(
      process.execPath,
      ['--import', tsHooks, join(fixtures, 'fs-race-worker.ts'), root, 'stream-forever', 'video', '0', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('streaming')) resolve();
      });
      child.on('close', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGKILL');
    await exited;
    const tmp = join(root, '.backlot-tmp');
    expect((await readdir(tmp)).length).toBe(1);

    const next = createFilesystemStore({ root });
    expect((await next.get('video')).body.toString()).toBe('old version');
    expect(await readdir(tmp)).toEqual([]);
    await next.put('video', 'new version');
    expect((await next.get('video')).body.toString()).toBe('new version');
  });
});
