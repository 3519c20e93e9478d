import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describeObjectStoreConformance } from '@backlot/storage/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createS3Store, type ObjectStore, type S3Store } from '../src/index.js';

// Integration tests against the real S3-compatible server started by scripts/services.sh.
const { s3 } = serviceEnv();
export const client = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});

async function freshBucket(): Promise<string> {
  const bucket = `backlot-test-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function dropBucket(store: S3Store): Promise<void> {
  async function* keys() {
    for await (const entry of store.list()) if (entry.type === 'object') yield entry.key;
  }
  await store.deleteMany(keys());
  await client.send(new DeleteBucketCommand({ Bucket: store.bucket }));
}

beforeAll(async () => {
  // Fail loudly, with the reason, when the server is not reachable.
  const bucket = await freshBucket().catch((error: unknown) => {
    throw new Error(`S3-compatible server not reachable at ${s3.endpoint}: ${String(error)}`, { cause: error });
  });
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
});

afterAll(() => client.destroy());

describeObjectStoreConformance({
  name: 's3',
  createStore: async () => createS3Store({ bucket: await freshBucket(), client, partSize: 5 * 1024 * 1024 }),
  disposeStore: (store: ObjectStore) => dropBucket(store as S3Store),
});

describe('s3 store: options', () => {
  it('builds its own client from endpoint options', async () => {
    const store = createS3Store({
      bucket: await freshBucket(),
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      checksums: 'when-required',
    });
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
