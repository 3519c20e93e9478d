import { describeObjectStoreConformance } from '@backlot/storage/testing';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/index.js';

describeObjectStoreConformance({
  name: 'memory',
  createStore: () => createMemoryStore(),
  // The memory store holds what it stores: a smaller large body is enough to prove it streams in and out.
  largeBodyBytes: 64 * 1024 * 1024,
});

describe('memory store', () => {
  it('copies bodies in and out, so callers cannot mutate stored bytes', async () => {
    const store = createMemoryStore();
    const bytes = Buffer.from('abc');
    await store.put('k', bytes);
    bytes[0] = 0x7a;
    const read = await store.get('k');
    read.body[1] = 0x7a;
    expect((await store.get('k')).body.toString()).toBe('abc');
  });

  it('declares what it lacks, so the suite skips it', () => {
    expect(createMemoryStore().capabilities).toEqual({
      conditionalWrites: true,
      rangeReads: true,
      presign: false,
      multipart: false,
      streaming: false,
    });
  });
});
