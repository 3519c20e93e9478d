import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { bytesOf, collect, discard, toReadable } from '../../core/body.js';
import { deleteOneByOne } from '../../core/delete-many.js';
import { assertValidKey, compareKeys } from '../../core/keys.js';
import { buildPage, type KeySourceStart, listAll, parseListOptions } from '../../core/list.js';
import { objectStream } from '../../core/object-stream.js';
import { assertRangeShape, resolveRange } from '../../core/range.js';
import { throwIfAborted } from '../../core/signal.js';
import type {
  CallOptions,
  CopyOptions,
  DeleteManyResult,
  GetOptions,
  ListedObject,
  ListOptions,
  ListPage,
  ListPageOptions,
  ObjectBody,
  ObjectInfo,
  ObjectStore,
  ObjectStream,
  PutOptions,
  ReturnedRange,
  StoreCapabilities,
  StoredObject,
} from '../../core/types.js';
import {
  assertCopyOptions,
  assertPutOptions,
  copyAttributes,
  type ObjectAttributes,
  putAttributes,
} from '../../core/write-options.js';
import { NotFoundError, PreconditionFailedError } from '../../errors.js';
import { instrumentStore } from '../../observability/instrument.js';

interface Entry {
  info: ObjectInfo;
  body: Buffer;
}

const capabilities: StoreCapabilities = Object.freeze({
  conditionalWrites: true,
  rangeReads: true,
  presign: false,
  multipart: false,
  streaming: false,
});

/** Checks `ifMatch` / `ifNoneMatch` against the current entry; throws the typed error. */
function checkConditions(
  key: string,
  current: Entry | undefined,
  conditions: { ifMatch?: string | undefined; ifNoneMatch?: '*' | undefined },
): void {
  if (conditions.ifNoneMatch === '*' && current) throw new PreconditionFailedError(key, 'If-None-Match: *');
  if (conditions.ifMatch !== undefined) {
    if (!current) throw new NotFoundError(key);
    if (conditions.ifMatch !== '*' && conditions.ifMatch !== current.info.etag) {
      throw new PreconditionFailedError(key, `If-Match: ${conditions.ifMatch}`);
    }
  }
}

/**
 * An {@link ObjectStore} held in this process's memory: for tests and for the
 * example's fastest mode. Bodies are copied in and out, so callers can never
 * mutate what is stored. Conditional writes are atomic (checked and committed
 * in one turn of the event loop). Everything is lost when the process exits.
 */
export function createMemoryStore(): ObjectStore {
  const objects = new Map<string, Entry>();
  /** Keys in byte order, for listings. */
  const sorted: string[] = [];

  const indexOf = (key: string): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(sorted[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const find = (key: string, options: CallOptions | undefined): Entry => {
    throwIfAborted(options?.signal);
    assertValidKey(key);
    const entry = objects.get(key);
    if (!entry) throw new NotFoundError(key);
    return entry;
  };

  const copyInfo = (info: ObjectInfo): ObjectInfo => ({
    ...info,
    lastModified: new Date(info.lastModified),
    metadata: { ...info.metadata },
  });

  const commit = (key: string, body: Buffer, attributes: ObjectAttributes): ObjectInfo => {
    const info: ObjectInfo = {
      key,
      size: body.byteLength,
      // Quoted MD5 of the body, the form S3 uses for single-part objects.
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(),
      ...attributes,
    };
    if (!objects.has(key)) sorted.splice(indexOf(key), 0, key);
    objects.set(key, { info, body });
    return copyInfo(info);
  };

  const read = (key: string, options: GetOptions | undefined): { entry: Entry; range?: ReturnedRange } => {
    assertRangeShape(key, options?.range);
    const entry = find(key, options);
    if (options?.ifMatch !== undefined && options.ifMatch !== '*' && options.ifMatch !== entry.info.etag) {
      throw new PreconditionFailedError(key, `If-Match: ${options.ifMatch}`);
    }
    if (!options?.range) return { entry };
    return { entry, range: resolveRange(key, options.range, entry.info.size) };
  };

  const slice = (entry: Entry, range: ReturnedRange | undefined): Buffer =>
    Buffer.from(range ? entry.body.subarray(range.offset, range.offset + range.length) : entry.body);

  async function* keysFrom({ after, skipPrefix, prefix }: KeySourceStart): AsyncGenerator<string> {
    const start = after !== undefined && compareKeys(after, prefix) > 0 ? after : prefix;
    let i = indexOf(start);
    for (; i < sorted.length; i++) {
      const key = sorted[i] as string;
      if (key === after) continue;
      if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
      if (!key.startsWith(prefix)) {
        if (compareKeys(key, prefix) > 0) return;
        continue;
      }
      yield key;
    }
  }

  const describeListed = async (key: string): Promise<ListedObject | undefined> => {
    const entry = objects.get(key);
    return entry
      ? { key, size: entry.info.size, etag: entry.info.etag, lastModified: new Date(entry.info.lastModified) }
      : undefined;
  };

  const store: ObjectStore = {
    adapter: 'memory',
    capabilities,

    async put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo> {
      try {
        throwIfAborted(options?.signal);
        assertValidKey(key);
        assertPutOptions(key, options);
      } catch (error) {
        discard(body, error);
        throw error;
      }
      const inline = bytesOf(body);
      const bytes = inline ? Buffer.from(inline) : await collect(toReadable(body));
      throwIfAborted(options?.signal);
      // Check and commit in the same synchronous turn: atomic against other writers.
      checkConditions(key, objects.get(key), options ?? {});
      return commit(key, bytes, putAttributes(options));
    },

    async get(key: string, options?: GetOptions): Promise<StoredObject> {
      const { entry, range } = read(key, options);
      return { ...copyInfo(entry.info), body: slice(entry, range), ...(range ? { range } : {}) };
    },

    async getStream(key: string, options?: GetOptions): Promise<ObjectStream> {
      const { entry, range } = read(key, options);
      const bytes = slice(entry, range);
      const chunks = (function* () {
        for (let at = 0; at < bytes.byteLength; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
      })();
      return objectStream(copyInfo(entry.info), Readable.from(chunks, { objectMode: false }), range);
    },

    async head(key: string, options?: CallOptions): Promise<ObjectInfo> {
      return copyInfo(find(key, options).info);
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      throwIfAborted(options?.signal);
      assertValidKey(key);
      if (objects.delete(key)) sorted.splice(indexOf(key), 1);
    },

    deleteMany(keys: Iterable<string> | AsyncIterable<string>, options?: CallOptions): Promise<DeleteManyResult> {
      return deleteOneByOne(store, keys, options);
    },

    list(options?: ListOptions) {
      parseListOptions(options);
      return listAll((page) => store.listPage(page), options);
    },

    async listPage(options?: ListPageOptions): Promise<ListPage> {
      throwIfAborted(options?.signal);
      return buildPage(parseListOptions(options), keysFrom, describeListed);
    },

    async copy(source: string, destination: string, options?: CopyOptions): Promise<ObjectInfo> {
      assertValidKey(destination);
      assertCopyOptions(destination, options);
      const entry = find(source, options);
      if (options?.sourceIfMatch !== undefined && options.sourceIfMatch !== entry.info.etag) {
        throw new PreconditionFailedError(source, `x-amz-copy-source-if-match: ${options.sourceIfMatch}`);
      }
      checkConditions(destination, objects.get(destination), options ?? {});
      return commit(destination, entry.body, copyAttributes(entry.info, options));
    },
  };
  return instrumentStore(store);
}
