import { createHash } from 'node:crypto';
import { NotFoundError } from '../errors.js';
import {
  assertValidKey,
  type CallOptions,
  DEFAULT_CONTENT_TYPE,
  normalizeMetadata,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from '../object-store.js';

/**
 * An {@link ObjectStore} held in this process's memory: for tests and for the
 * example's fastest mode. Bodies are copied in and out, so callers can never
 * mutate what is stored.
 */
export function createMemoryStore(): ObjectStore {
  const objects = new Map<string, StoredObject>();

  const find = (key: string, options?: CallOptions): StoredObject => {
    options?.signal?.throwIfAborted();
    assertValidKey(key);
    const object = objects.get(key);
    if (!object) throw new NotFoundError(key);
    return object;
  };

  const describe = ({ body: _body, ...info }: StoredObject): ObjectInfo => ({
    ...info,
    metadata: { ...info.metadata },
  });

  return {
    async put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo> {
      options?.signal?.throwIfAborted();
      assertValidKey(key);
      const bytes = Buffer.from(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
      const object: StoredObject = {
        key,
        body: bytes,
        size: bytes.byteLength,
        // Quoted MD5 of the body, the form S3 uses for single-part objects.
        etag: `"${createHash('md5').update(bytes).digest('hex')}"`,
        lastModified: new Date(),
        contentType: options?.contentType ?? DEFAULT_CONTENT_TYPE,
        metadata: normalizeMetadata(options?.metadata),
      };
      objects.set(key, object);
      return describe(object);
    },

    async get(key: string, options?: CallOptions): Promise<StoredObject> {
      const object = find(key, options);
      return { ...describe(object), body: Buffer.from(object.body) };
    },

    async head(key: string, options?: CallOptions): Promise<ObjectInfo> {
      return describe(find(key, options));
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      options?.signal?.throwIfAborted();
      assertValidKey(key);
      objects.delete(key);
    },
  };
}
