import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { createS3Store } from '../src/index.js';
import { describeObjectStore } from './object-store-contract.js';

// Integration test against the real S3-compatible server started by scripts/services.sh.
const { s3 } = serviceEnv();
const client = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});
const buckets: string[] = [];

async function freshBucket(): Promise<string> {
  const bucket = `backlot-test-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  buckets.push(bucket);
  return bucket;
}

beforeAll(async () => {
  // Fail loudly, with the reason, when the server is not reachable.
  await freshBucket().catch((error: unknown) => {
    throw new Error(`S3-compatible server not reachable at ${s3.endpoint}: ${String(error)}`, { cause: error });
  });
});

afterAll(async () => {
  for (const bucket of buckets) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const store = createS3Store({ bucket, client });
    for (const object of listed.Contents ?? []) if (object.Key) await store.delete(object.Key);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
  client.destroy();
});

describeObjectStore('s3', async () => createS3Store({ bucket: await freshBucket(), client }));

describe('s3 store', () => {
  it('builds its own client from endpoint options', async () => {
    const store = createS3Store({
      bucket: await freshBucket(),
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await store.put('hello.txt', 'hello from backlot', { contentType: 'text/plain' });
    expect((await store.get('hello.txt')).body.toString()).toBe('hello from backlot');
  });

  it('rejects bad options with a message naming the field', () => {
    expect(() => createS3Store({ bucket: '' })).toThrow(/bucket/);
    expect(() => createS3Store({ bucket: 'ok-bucket', endpoint: 'not a url' })).toThrow(/endpoint must be a URL/);
  });
});
