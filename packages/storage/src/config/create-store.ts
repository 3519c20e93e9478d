import { z } from 'zod';
import { createFilesystemStore, type FilesystemStoreOptions } from '../adapters/filesystem/index.js';
import { createMemoryStore } from '../adapters/memory/index.js';
import { createS3Store, type S3StoreOptions } from '../adapters/s3/index.js';
import type { ObjectStore } from '../core/types.js';

/**
 * Which store to use, as plain data (from a config file or the environment):
 * services code against {@link ObjectStore} and switch adapter here.
 */
export type StoreConfig =
  | { adapter: 'memory' }
  | ({ adapter: 'filesystem' } & FilesystemStoreOptions)
  | ({ adapter: 's3' } & Omit<S3StoreOptions, 'client'>);

const adapterSchema = z.object({
  adapter: z.enum(['memory', 'filesystem', 's3'], {
    error: "adapter must be 'memory', 'filesystem' or 's3'",
  }),
});

/**
 * Creates the store a configuration names. Each adapter validates its own
 * options and names the field at fault.
 *
 * @example
 * ```ts
 * const store = createStore(
 *   process.env.NODE_ENV === 'production'
 *     ? { adapter: 's3', bucket: 'play-data' }
 *     : { adapter: 'filesystem', root: './.data' },
 * );
 * ```
 */
export function createStore(config: StoreConfig): ObjectStore {
  const parsed = adapterSchema.safeParse(config);
  if (!parsed.success) throw new TypeError(`createStore: ${z.prettifyError(parsed.error)}`);
  switch (config.adapter) {
    case 'memory':
      return createMemoryStore();
    case 'filesystem': {
      const { adapter: _, ...options } = config;
      return createFilesystemStore(options);
    }
    case 's3': {
      const { adapter: _, ...options } = config;
      return createS3Store(options);
    }
  }
}

/**
 * Reads a {@link StoreConfig} from environment variables:
 * `BACKLOT_STORAGE` (`memory`, `filesystem` — the default — or `s3`),
 * `BACKLOT_STORAGE_ROOT` (filesystem folder, default `./.backlot-data`),
 * `BACKLOT_S3_BUCKET`, `BACKLOT_S3_ENDPOINT`, `BACKLOT_S3_REGION`,
 * `BACKLOT_S3_FORCE_PATH_STYLE` (`true` when an endpoint is set, unless `false`),
 * `BACKLOT_S3_ACCESS_KEY_ID` / `BACKLOT_S3_SECRET_ACCESS_KEY` (else the AWS provider chain),
 * `BACKLOT_S3_CHECKSUMS` (`when-supported` or `when-required`).
 */
export function storeConfigFromEnv(env: Record<string, string | undefined> = process.env): StoreConfig {
  const adapter = env.BACKLOT_STORAGE ?? 'filesystem';
  if (adapter === 'memory') return { adapter };
  if (adapter === 'filesystem') return { adapter, root: env.BACKLOT_STORAGE_ROOT ?? './.backlot-data' };
  if (adapter !== 's3') {
    throw new TypeError(`BACKLOT_STORAGE must be 'memory', 'filesystem' or 's3', got '${adapter}'`);
  }
  if (!env.BACKLOT_S3_BUCKET) throw new TypeError('BACKLOT_S3_BUCKET is required when BACKLOT_STORAGE=s3');
  const endpoint = env.BACKLOT_S3_ENDPOINT;
  const checksums = env.BACKLOT_S3_CHECKSUMS;
  if (checksums !== undefined && checksums !== 'when-supported' && checksums !== 'when-required') {
    throw new TypeError(`BACKLOT_S3_CHECKSUMS must be 'when-supported' or 'when-required', got '${checksums}'`);
  }
  return {
    adapter,
    bucket: env.BACKLOT_S3_BUCKET,
    ...(endpoint ? { endpoint, forcePathStyle: env.BACKLOT_S3_FORCE_PATH_STYLE !== 'false' } : {}),
    ...(env.BACKLOT_S3_REGION ? { region: env.BACKLOT_S3_REGION } : {}),
    ...(env.BACKLOT_S3_ACCESS_KEY_ID && env.BACKLOT_S3_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.BACKLOT_S3_ACCESS_KEY_ID,
            secretAccessKey: env.BACKLOT_S3_SECRET_ACCESS_KEY,
          },
        }
      : {}),
    ...(checksums ? { checksums } : {}),
  };
}
