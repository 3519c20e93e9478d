import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import { requirePeer } from '../../core/peer.js';

/** The AWS SDK modules the S3 adapter uses. */
export interface S3Sdk {
  s3: typeof ClientS3;
  storage: typeof LibStorage;
}

/** What the S3 adapter needs installed (optional peer dependencies of `@backlot/storage`). */
const S3_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'] as const;

let loaded: S3Sdk | undefined;

/**
 * The AWS SDK, loaded when the first S3 store is created rather than when
 * `@backlot/storage` is imported: services on the memory, filesystem or
 * Cassandra store never load it, and need not install it (it is an optional
 * peer dependency). The SDK ships only CommonJS to Node (no `exports` map), so
 * this is the very module instance an `import '@aws-sdk/client-s3'` of the
 * application gets (its `S3Client` passes `instanceof`).
 * @throws {MissingPeerError} `BACKLOT_STORAGE_MISSING_PEER` naming both packages when either is not installed.
 * @internal
 */
export function s3Sdk(): S3Sdk {
  if (!loaded) {
    loaded = {
      s3: requirePeer<typeof ClientS3>('@aws-sdk/client-s3', 'the S3 store', S3_PACKAGES),
      storage: requirePeer<typeof LibStorage>('@aws-sdk/lib-storage', 'the S3 store', S3_PACKAGES),
    };
  }
  return loaded;
}

/**
 * The presigner, loaded on the first `presign()`: services that never presign
 * need not install it.
 * @throws {MissingPeerError} naming `@aws-sdk/s3-request-presigner` when it is not installed.
 * @internal
 */
export function s3Presigner(): typeof Presigner {
  return requirePeer<typeof Presigner>('@aws-sdk/s3-request-presigner', 'S3 presigned URLs (presign())');
}
