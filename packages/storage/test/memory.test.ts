import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/index.js';
import { describeObjectStore } from './object-store-contract.js';

describeObjectStore('memory', () => createMemoryStore());

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
});
