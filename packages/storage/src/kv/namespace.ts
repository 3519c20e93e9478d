import type { z } from 'zod';
import type { CallOptions, ObjectStore } from '../core/types.js';
import { isNotFoundError } from '../errors.js';
import { decodeRecord, validateRecord } from './records.js';
import { updateWithRetries } from './update.js';

/** One record of a namespace, with its version (the etag of the object that holds it). */
export interface Item<T> {
  /** The record's id inside its namespace. */
  id: string;
  /** The record, validated by the namespace's schema. */
  value: T;
  /** Opaque version: pass it as `ifVersion` to write only if nobody else wrote since. */
  version: string;
}

/** Options of {@link Namespace.put}. */
export interface KvPutOptions extends CallOptions {
  /**
   * Optimistic concurrency: a version from `get` → write only if the record is
   * still at that version; `null` → write only if the record does not exist.
   * A mismatch throws `PreconditionFailedError` (`NotFoundError` if the record was deleted).
   */
  ifVersion?: string | null | undefined;
}

/** Options of {@link Namespace.scan}. */
export interface KvScanOptions extends CallOptions {
  /** Only ids that start with this. */
  prefix?: string | undefined;
  /** Records fetched per listing page (default 1000). */
  pageSize?: number | undefined;
}

/** Options of {@link Namespace.update}. */
export interface KvUpdateOptions extends CallOptions {
  /** Attempts before the last conflict is thrown (default 5). */
  maxAttempts?: number | undefined;
}

/** A typed, validated collection of records (profiles, bookmarks, licences, …). */
export interface Namespace<T> {
  /** The namespace's name. */
  readonly name: string;
  /** The record with this id, or `undefined`. @throws {ValidationError} when the stored record no longer matches the schema. */
  get(id: string, options?: CallOptions): Promise<Item<T> | undefined>;
  /** Validates and writes a record. @throws {ValidationError} @throws {PreconditionFailedError} on a version mismatch. */
  put(id: string, value: T, options?: KvPutOptions): Promise<Item<T>>;
  /** Deletes a record; a missing one is not an error. */
  delete(id: string, options?: CallOptions): Promise<void>;
  /** Every record (or those whose id starts with `prefix`), in id order, one page in memory at a time. */
  scan(options?: KvScanOptions): AsyncIterable<Item<T>>;
  /** Read-modify-write with optimistic concurrency: `fn` is re-run on conflicting writes. */
  update(id: string, fn: (current: T | undefined) => T | Promise<T>, options?: KvUpdateOptions): Promise<Item<T>>;
}

/** Builds a namespace over `store`, its records at `<prefix><name>/<encoded id>`. */
export function createNamespace<T>(
  store: ObjectStore,
  keyPrefix: string,
  schema: z.ZodType<T>,
  name: string,
): Namespace<T> {
  const base = `${keyPrefix}${name}/`;
  const keyOf = (id: string) => {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${name}: ids must be non-empty strings`);
    return base + encodeURIComponent(id);
  };

  const validate = (key: string, value: unknown, operation: 'read' | 'write'): T =>
    validateRecord(key, value, operation, schema);
  const decode = (key: string, body: Buffer): T => decodeRecord(key, body.toString('utf8'), schema);

  const namespace: Namespace<T> = {
    name,

    async get(id, options) {
      const key = keyOf(id);
      try {
        const object = await store.get(key, options);
        return { id, value: decode(key, object.body), version: object.etag };
      } catch (error) {
        if (isNotFoundError(error)) return undefined;
        throw error;
      }
    },

    async put(id, value, options) {
      const key = keyOf(id);
      const valid = validate(key, value, 'write');
      const info = await store.put(key, JSON.stringify(valid), {
        contentType: 'application/json',
        ...(options?.signal ? { signal: options.signal } : {}),
        ...(options?.ifVersion === null ? { ifNoneMatch: '*' as const } : {}),
        ...(typeof options?.ifVersion === 'string' ? { ifMatch: options.ifVersion } : {}),
      });
      return { id, value: valid, version: info.etag };
    },

    async delete(id, options) {
      await store.delete(keyOf(id), options);
    },

    async *scan(options) {
      const prefix = base + (options?.prefix ? encodeURIComponent(options.prefix) : '');
      for await (const entry of store.list({
        prefix,
        ...(options?.pageSize ? { pageSize: options.pageSize } : {}),
        ...(options?.signal ? { signal: options.signal } : {}),
      })) {
        if (entry.type !== 'object') continue;
        const id = decodeURIComponent(entry.key.slice(base.length));
        const item = await namespace.get(id, options);
        if (item) yield item;
      }
    },

    update(id, fn, options) {
      return updateWithRetries(namespace, id, fn, options);
    },
  };
  return namespace;
}
