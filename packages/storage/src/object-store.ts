import { InvalidKeyError } from './errors.js';

/** What can be written as an object's body. */
export type ObjectBody = string | Uint8Array;

/** Options shared by every store call. */
export interface CallOptions {
  /** Aborts the call. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions extends CallOptions {
  /** MIME type stored with the object (default `application/octet-stream`). */
  contentType?: string | undefined;
  /** User metadata stored with the object (keys are lower-cased). */
  metadata?: Record<string, string> | undefined;
}

/** What a store knows about an object without reading its body. */
export interface ObjectInfo {
  /** The object's key. */
  key: string;
  /** Body size in bytes. */
  size: number;
  /** Entity tag: changes whenever the object is written. */
  etag: string;
  /** When the object was last written. */
  lastModified: Date;
  /** MIME type given at write time. */
  contentType: string;
  /** User metadata given at write time. */
  metadata: Record<string, string>;
}

/** An object read whole: its description and its bytes. */
export interface StoredObject extends ObjectInfo {
  /** The object's bytes. */
  body: Buffer;
}

/**
 * The one interface every storage adapter implements, so that services code
 * against it and switch store (memory, filesystem, S3) by configuration.
 */
export interface ObjectStore {
  /** Writes `body` at `key`, replacing any object there. */
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Reads the object at `key`. @throws {NotFoundError} when there is none. */
  get(key: string, options?: CallOptions): Promise<StoredObject>;
  /** Describes the object at `key`. @throws {NotFoundError} when there is none. */
  head(key: string, options?: CallOptions): Promise<ObjectInfo>;
  /** Deletes the object at `key`; deleting a missing key is not an error. */
  delete(key: string, options?: CallOptions): Promise<void>;
}

/** The default content type of objects written without one. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const MAX_KEY_BYTES = 1024;

/**
 * Checks a key against the rules every adapter shares (S3's): 1 to 1024 bytes
 * of UTF-8, no NUL byte.
 * @throws {InvalidKeyError}
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw new InvalidKeyError(String(key), 'keys must be non-empty strings');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `keys must be at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
  if (key.includes('\0')) throw new InvalidKeyError(key, 'keys must not contain NUL bytes');
}

/** Lower-cases metadata keys, as S3 does, so every adapter returns the same. */
export function normalizeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const normalized: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) normalized[name.toLowerCase()] = value;
  return normalized;
}
