import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeObjectStoreConformance } from '@backlot/storage/testing';
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

describe('filesystem store: options', () => {
  it('rejects bad options with a message naming the field', () => {
    expect(() => createFilesystemStore({ root: '' })).toThrow(/root must not be empty/);
    expect(() => createFilesystemStore({} as { root: string })).toThrow(/root is required/);
    expect(() => createFilesystemStore({ root: base, lockTimeoutMs: 0 })).toThrow(/lockTimeoutMs/);
  });
});
