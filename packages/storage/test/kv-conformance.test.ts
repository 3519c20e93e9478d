import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import {
  type CassandraStore,
  createFilesystemStore,
  createKeyValueStore,
  createMemoryStore,
  createS3Store,
  type S3Store,
} from '../src/index.js';
import { describeKeyValueConformance } from '../src/testing/index.js';
import { cassandraOff, freshCassandraStore } from './cassandra-env.js';
import { client, dropBucket, freshBucket } from './s3-env.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-kv-conformance-'));
const buckets: S3Store[] = [];
afterAll(async () => {
  for (const store of buckets) await dropBucket(store);
  await rm(base, { recursive: true, force: true });
  client.destroy();
});

describeKeyValueConformance({ name: 'memory', createStore: () => createKeyValueStore({ store: createMemoryStore() }) });

describeKeyValueConformance({
  name: 'filesystem',
  createStore: () => createKeyValueStore({ store: createFilesystemStore({ root: join(base, String(Math.random())) }) }),
});

describeKeyValueConformance({
  name: 's3 (moto)',
  createStore: async () => {
    const store = createS3Store({ bucket: await freshBucket(), client });
    buckets.push(store);
    return createKeyValueStore({ store });
  },
});

describe.skipIf(cassandraOff)('cassandra', () => {
  describeKeyValueConformance<CassandraStore>({
    name: 'cassandra',
    createStore: () => freshCassandraStore(),
    disposeStore: (store) => store.close(),
  });
});
