import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore, type StoreConfig, storeConfigFromEnv } from '../src/index.js';
import { s3 } from './s3-env.js';

const base = await mkdtemp(join(tmpdir(), 'backlot-config-'));
afterAll(() => rm(base, { recursive: true, force: true }));

describe('createStore: switching adapter by configuration', () => {
  it.each<[string, StoreConfig]>([
    ['memory', { adapter: 'memory' }],
    ['filesystem', { adapter: 'filesystem', root: join(base, 'fs') }],
    ['s3', { adapter: 's3', bucket: 'any-bucket', endpoint: s3.endpoint, forcePathStyle: true }],
  ])('%s', (adapter, config) => {
    const store = createStore(config);
    expect(store.adapter).toBe(adapter);
  });

  it('names the field at fault', () => {
    expect(() => createStore({ adapter: 'redis' } as unknown as StoreConfig)).toThrow(
      /adapter must be 'memory', 'filesystem' or 's3'/,
    );
    expect(() => createStore({ adapter: 'filesystem' } as StoreConfig)).toThrow(/root is required/);
    expect(() => createStore({ adapter: 's3' } as StoreConfig)).toThrow(/bucket is required/);
  });

  it('reads the configuration from the environment', () => {
    expect(storeConfigFromEnv({})).toEqual({ adapter: 'filesystem', root: './.backlot-data' });
    expect(storeConfigFromEnv({ BACKLOT_STORAGE: 'memory' })).toEqual({ adapter: 'memory' });
    expect(
      storeConfigFromEnv({
        BACKLOT_STORAGE: 's3',
        BACKLOT_S3_BUCKET: 'play',
        BACKLOT_S3_ENDPOINT: 'http://127.0.0.1:9000',
        BACKLOT_S3_ACCESS_KEY_ID: 'a',
        BACKLOT_S3_SECRET_ACCESS_KEY: 'b',
        BACKLOT_S3_CHECKSUMS: 'when-required',
      }),
    ).toEqual({
      adapter: 's3',
      bucket: 'play',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      checksums: 'when-required',
    });
    expect(() => storeConfigFromEnv({ BACKLOT_STORAGE: 's3' })).toThrow(/BACKLOT_S3_BUCKET is required/);
    expect(() => storeConfigFromEnv({ BACKLOT_STORAGE: 'disk' })).toThrow(/BACKLOT_STORAGE must be/);
  });
});
