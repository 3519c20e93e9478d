import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { serviceEnv } from '../../../scripts/test-env.js';
import type { S3Store } from '../src/index.js';

/** The real S3-compatible server started by scripts/services.sh, and a plain SDK client for it. */
export const { s3 } = serviceEnv();

/** Options that point a client or a store at the test server. */
export const serverOptions = {
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
};

export const client = new S3Client(serverOptions);

/** Creates a bucket with a unique name; fails loudly, with the reason, when the server is not reachable. */
export async function freshBucket(): Promise<string> {
  const bucket = `backlot-test-${randomUUID().slice(0, 8)}`;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    throw new Error(`S3-compatible server not reachable at ${s3.endpoint}: ${String(error)}`, { cause: error });
  }
  return bucket;
}

/** Empties and deletes a store's bucket. */
export async function dropBucket(store: S3Store): Promise<void> {
  async function* keys() {
    for await (const entry of store.list()) if (entry.type === 'object') yield entry.key;
  }
  await store.deleteMany(keys());
  await client.send(new DeleteBucketCommand({ Bucket: store.bucket }));
}
