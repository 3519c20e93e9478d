import { describeObjectStoreConformance, describeObjectStoreFaults } from '@backlot/storage/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Store, type ObjectStore, type S3Store } from '../src/index.js';
import { client, dropBucket, freshBucket, serverOptions } from './s3-env.js';

// The conformance suite against the real S3-compatible server (never a mock).
afterAll(() => client.destroy());

describeObjectStoreConformance({
  name: 's3',
  createStore: async () => createS3Store({ bucket: await freshBucket(), client, partSize: 5 * 1024 * 1024 }),
  disposeStore: (store: ObjectStore) => dropBucket(store as S3Store),
});

describeObjectStoreFaults({
  name: 's3',
  storeAt: (endpoint) =>
    createS3Store({
      bucket: 'fault-bucket',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
      requestTimeoutMs: 300,
      socketTimeoutMs: 300,
    }),
  unusableStore: () => createS3Store({ bucket: 'no-such-bucket-here', client }),
  disposeStore: (store) => {
    if ((store as S3Store).client !== client) (store as S3Store).destroy();
  },
});

describe('s3 store: options', () => {
  it('builds its own client from endpoint options', async () => {
    const store = createS3Store({ bucket: await freshBucket(), ...serverOptions, checksums: 'when-required' });
    await store.put('hello.txt', 'hello from backlot', { contentType: 'text/plain' });
    expect((await store.get('hello.txt')).body.toString()).toBe('hello from backlot');
    await dropBucket(store);
    store.destroy();
  });

  it('rejects bad options with a message naming the field', () => {
    expect(() => createS3Store({ bucket: '' })).toThrow(/bucket/);
    expect(() => createS3Store({ bucket: 'ok-bucket', endpoint: 'not a url' })).toThrow(/endpoint must be a URL/);
    expect(() => createS3Store({ bucket: 'ok-bucket', partSize: 1024 })).toThrow(/partSize must be at least 5 MiB/);
    expect(() => createS3Store({ bucket: 'ok-bucket', checksums: 'always' as 'when-required' })).toThrow(/checksums/);
  });
});
