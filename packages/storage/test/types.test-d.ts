import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createKeyValueStore,
  createMemoryStore,
  createStore,
  type Item,
  type ListEntry,
  type ObjectStore,
  type ObjectStream,
  type StoredObject,
} from '../src/index.js';

describe('public types', () => {
  it('a namespace carries its schema type through get, put, scan and update', () => {
    const kv = createKeyValueStore({ store: createMemoryStore() });
    const profiles = kv.namespace('profiles', z.object({ name: z.string(), maturity: z.number() }));
    type Profile = { name: string; maturity: number };
    expectTypeOf(profiles.get('p')).resolves.toEqualTypeOf<Item<Profile> | undefined>();
    expectTypeOf(profiles.put).parameter(1).toEqualTypeOf<Profile>();
    expectTypeOf(profiles.scan()).toEqualTypeOf<AsyncIterable<Item<Profile>>>();
    expectTypeOf(
      profiles.update('p', (current) => ({ name: current?.name ?? 'x', maturity: 1 })),
    ).resolves.toEqualTypeOf<Item<Profile>>();
    // @ts-expect-error: a record of the wrong shape does not compile
    void profiles.put('p', { name: 1 });
  });

  it('stores read into Buffers and Node streams, and list yields objects or prefixes', () => {
    const store: ObjectStore = createStore({ adapter: 'memory' });
    expectTypeOf(store.get('k')).resolves.toEqualTypeOf<StoredObject>();
    expectTypeOf(store.getStream('k')).resolves.toEqualTypeOf<ObjectStream>();
    expectTypeOf(store.list()).toEqualTypeOf<AsyncIterable<ListEntry>>();
    // @ts-expect-error: ifNoneMatch only takes '*'
    void store.put('k', 'v', { ifNoneMatch: 'etag' });
  });
});
