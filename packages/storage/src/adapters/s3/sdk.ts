import { createRequire } from 'node:module';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';

/** The AWS SDK modules the S3 adapter uses. */
export interface S3Sdk {
  s3: typeof ClientS3;
  storage: typeof LibStorage;
}

let loaded: S3Sdk | undefined;

/**
 * The AWS SDK, loaded when the first S3 store is created rather than when
 * `@backlot/storage` is imported: services on the memory or filesystem store
 * never load it. The SDK ships only CommonJS to Node (no `exports` map), so
 * this is the very module instance an `import '@aws-sdk/client-s3'` of the
 * application gets (its `S3Client` passes `instanceof`).
 * @internal
 */
export function s3Sdk(): S3Sdk {
  if (!loaded) {
    // `require` of this module's location, in both builds: CommonJS has `__filename`; ESM has
    // `import.meta.url` (a bare `require` would be the bundler's shim, which throws in ESM).
    const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    loaded = {
      s3: load('@aws-sdk/client-s3') as typeof ClientS3,
      storage: load('@aws-sdk/lib-storage') as typeof LibStorage,
    };
  }
  return loaded;
}
