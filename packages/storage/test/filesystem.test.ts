import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeObjectStoreConformance, describeObjectStoreFaults } from '@backlot/storage/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createFilesystemStore, type ObjectStore } from '../src/index.js';

const roots = new Map<ObjectStore, string>();
const base = await mkdtemp(join(tmpdir(), 'backlot-fs-'));
let n = 0;

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describeObjectStoreConformance({
  name: 'filesystem',
  createStore: () => {
    const root = join(base, `store-${n++}`);
    const store = createFilesystemStore({ root });
    roots.set(store, root);
    return store;
  },
  disposeStore: async (store) => {
    const root = roots.get(store);
    if (root) {
      // No temporary files are left behind by any case, failed writes included.
      const tmp = await readdir(join(root, '.backlot-tmp')).catch(() => []);
      expect(tmp).toEqual([]);
      await rm(root, { recursive: true, force: true });
    }
  },
});

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));

/** Kills a writer in another process while it streams a body into `key` under `root`. */
async function killWriterMidWrite(root: string, key: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', tsHooks, join(fixtures, 'fs-race-worker.ts'), root, 'stream-forever', key, '0', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('streaming')) resolve();
    });
    child.on('close', (code) => reject(new Error(`the writer exited before it was killed (${code})`)));
  });
  child.kill('SIGKILL');
  await exited;
}

const fresh = () => {
  const root = join(base, `store-${n++}`);
  const store = createFilesystemStore({ root });
  roots.set(store, root);
  return store;
};

describeObjectStoreFaults({
  name: 'filesystem',
  unusableStore: async () => {
    const root = join(base, `file-${n++}`);
    await writeFile(root, 'a regular file where the root folder should be');
    return createFilesystemStore({ root });
  },
  brokenLocks: {
    createStore: fresh,
    leave: async (store, key, kind) => {
      const lock = join(roots.get(store) as string, `${key.replace('faults/', 'faults~d/')}~l`);
      await mkdir(join(lock, '..'), { recursive: true });
      await writeFile(lock, kind === 'empty' ? '' : '{"pid":4');
      const past = new Date(Date.now() - 60_000);
      await utimes(lock, past, past);
    },
  },
  crashes: {
    createStore: fresh,
    killWriterMidWrite: (store, key) => killWriterMidWrite(roots.get(store) as string, key),
    reopen: (store) => {
      const root = roots.get(store) as string;
      const next = createFilesystemStore({ root });
      roots.set(next, root);
      return next;
    },
    leftovers: async (store) => readdir(join(roots.get(store) as string, '.backlot-tmp')),
  },
});

describe('filesystem store: options', () => {
  it('rejects bad options with a message naming the field', () => {
    expect(() => createFilesystemStore({ root: '' })).toThrow(/root must not be empty/);
    expect(() => createFilesystemStore({} as { root: string })).toThrow(/root is required/);
    expect(() => createFilesystemStore({ root: base, lockTimeoutMs: 0 })).toThrow(/lockTimeoutMs/);
    expect(() => createFilesystemStore({ root: base, fsynch: false } as never)).toThrow(/fsynch/);
  });
});
