import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { bytesOf, discard, toReadable } from '../../core/body.js';
import { deleteOneByOne } from '../../core/delete-many.js';
import { compareKeys } from '../../core/keys.js';
import { buildPage, type KeySourceStart, listAll, parseListOptions } from '../../core/list.js';
import { objectStream } from '../../core/object-stream.js';
import { assertRangeShape, resolveRange } from '../../core/range.js';
import { abortReasonOr, throwIfAborted } from '../../core/signal.js';
import { withTypedErrors } from '../../core/typed-stream.js';
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
  headerAttributes,
  type ObjectAttributes,
  putAttributes,
} from '../../core/write-options.js';
import { BackendError, NotFoundError, PreconditionFailedError } from '../../errors.js';
import { instrumentStore } from '../../observability/instrument.js';
import { mapFsError } from './errors.js';
import { type LockTiming, withKeyLock } from './lock.js';
import { ownedName } from './owner.js';
import { BODY_SUFFIX, DIR_SUFFIX, decodeSegment, dirOf, META_SUFFIX, objectPaths, TMP_DIR } from './paths.js';
import { sweepTempFiles } from './sweep.js';

/** Options of {@link createFilesystemStore}. */
export interface FilesystemStoreOptions {
  /** The folder that holds the objects (required; created when missing). Keys never escape it. */
  root: string;
  /**
   * fsync every written file and its folder before a write returns, so a
   * completed write survives a crash or power loss (default `true`). `false`
   * keeps writes atomic but may lose the last ones on power loss.
   */
  fsync?: boolean | undefined;
  /** How long a write waits for another process's lock on the same key before a retryable `ConflictError`, ms (default 10000). */
  lockTimeoutMs?: number | undefined;
  /** A lock file older than this is stale and broken (its holder died), ms (default 30000). Same-host locks of dead processes are broken at once. */
  staleLockMs?: number | undefined;
  /**
   * How often temporary files left by crashed writers are looked for and
   * removed, ms (default 3600000). The first call on a store sweeps; later
   * writes sweep again once this long has passed. Files of live writers are never removed.
   */
  sweepIntervalMs?: number | undefined;
}

const optionsSchema = z.strictObject({
  root: z
    .string({ error: 'root is required: the folder that holds the objects, e.g. ./data/objects' })
    .min(1, 'root must not be empty: the folder that holds the objects'),
  fsync: z.boolean({ error: 'fsync must be true or false' }).optional(),
  lockTimeoutMs: z.number().int().min(1, 'lockTimeoutMs must be a positive number of ms').optional(),
  staleLockMs: z.number().int().min(100, 'staleLockMs must be at least 100 ms').optional(),
  sweepIntervalMs: z.number().int().min(1000, 'sweepIntervalMs must be at least 1000 ms').optional(),
});

/** What the metadata file holds: the object's description and its body file. */
interface MetaRecord {
  v: 1;
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType: string;
  metadata: Record<string, string>;
  cacheControl?: string | undefined;
  contentDisposition?: string | undefined;
  contentEncoding?: string | undefined;
  /** Name of the body file, beside this one. */
  body: string;
}

const capabilities: StoreCapabilities = Object.freeze({
  conditionalWrites: true,
  rangeReads: true,
  presign: false,
  multipart: false,
  streaming: true,
});

const isCode = (error: unknown, ...codes: string[]) => codes.includes((error as NodeJS.ErrnoException)?.code ?? '');

const toInfo = (meta: MetaRecord): ObjectInfo => ({
  key: meta.key,
  size: meta.size,
  etag: meta.etag,
  lastModified: new Date(meta.lastModified),
  contentType: meta.contentType,
  metadata: { ...meta.metadata },
  ...headerAttributes(meta),
});

/**
 * An {@link ObjectStore} in a folder: the embedded default. Each object is a
 * body file plus a metadata file beside it; a write streams the body to a
 * temporary file, fsyncs it, renames it into place, then commits by atomically
 * renaming a new metadata file over the old one, so readers see the old object
 * or the new one, never a mix. ETags are random per write. Conditional writes
 * hold a per-key lock that is safe across writers of one process and across
 * processes.
 */
export function createFilesystemStore(options: FilesystemStoreOptions): ObjectStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createFilesystemStore: ${z.prettifyError(parsed.error)}`);
  const root = resolve(parsed.data.root);
  const durable = parsed.data.fsync ?? true;
  const timing: LockTiming = {
    timeoutMs: parsed.data.lockTimeoutMs ?? 10_000,
    staleMs: parsed.data.staleLockMs ?? 30_000,
  };
  const tmpDir = join(root, TMP_DIR);
  const sweepIntervalMs = parsed.data.sweepIntervalMs ?? 60 * 60 * 1000;
  let lastSweep = 0;
  let sweeping: Promise<unknown> | undefined;
  /** Removes crashed writers' temp files, at most once per interval (the first time before the first call). */
  const sweep = () => {
    if (sweeping || Date.now() - lastSweep < sweepIntervalMs) return sweeping;
    lastSweep = Date.now();
    sweeping = sweepTempFiles(tmpDir).finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };

  /** Checks that the root is a folder (creating it), and sweeps once; rejects with a `BackendError` naming the cause. */
  let ready: Promise<unknown> | undefined;
  const ensureRoot = (key: string) => {
    ready ??= (async () => {
      try {
        await mkdir(tmpDir, { recursive: true });
      } catch (error) {
        const info = await stat(root).catch(() => undefined);
        if (info && !info.isDirectory()) {
          throw new BackendError(
            `filesystem store root '${root}' is not a folder: it is a file. Point root at a folder (it is created when missing)`,
            { cause: error, status: (error as NodeJS.ErrnoException).code ?? 'ENOTDIR' },
          );
        }
        throw error;
      }
      await sweep();
    })().catch((error: unknown) => {
      ready = undefined;
      throw mapFsError(error, { key, root });
    });
    return ready;
  };

  const syncDir = async (dir: string) => {
    if (!durable) return;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };

  const readMeta = async (path: string): Promise<MetaRecord | undefined> => {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as MetaRecord;
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
  };

  /** Writes `source` to a new temporary file, fsynced; returns its path and size. */
  const writeTemp = async (source: Buffer | Readable, signal: AbortSignal | undefined) => {
    void sweep();
    // Named after this process: a sweep removes it only once this process is gone.
    const path = join(tmpDir, ownedName());
    let size = 0;
    try {
      if (Buffer.isBuffer(source)) {
        await writeFile(path, source, { flag: 'wx', flush: durable });
        size = source.byteLength;
      } else {
        // `flush`: fsync before the stream closes; the pipeline settles after the close.
        const out = createWriteStream(path, { flags: 'wx', flush: durable, highWaterMark: 1024 * 1024 });
        await pipeline(source, out, signal ? { signal } : {});
        size = out.bytesWritten;
      }
      return { path, size };
    } catch (error) {
      await unlink(path).catch(() => {});
      throw abortReasonOr(signal, error);
    }
  };

  /** Renames `from` to `to`, re-creating `to`'s folder if a concurrent delete removed it. */
  const moveInto = async (from: string, dir: string, to: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(from, to);
        return;
      } catch (error) {
        if (!isCode(error, 'ENOENT') || attempt === 5) throw error;
        await mkdir(dir, { recursive: true });
      }
    }
  };

  /** Removes empty folders from `dir` up to the root (best effort: a concurrent writer wins). */
  const pruneDirs = async (dir: string) => {
    let current = dir;
    while (current.startsWith(root) && current !== root) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = resolve(current, '..');
    }
  };

  /** Runs an operation with the root checked, mapping raw `node:fs` errors to typed ones. */
  const guarded = async <T>(key: string, signal: AbortSignal | undefined, operation: () => Promise<T>): Promise<T> => {
    try {
      await ensureRoot(key);
      return await operation();
    } catch (error) {
      throw mapFsError(error, { key, root, signal });
    }
  };

  /**
   * The write path shared by put and copy: body to a temp file, into place
   * under a new name, then the commit under the key's lock.
   */
  const write = async (
    key: string,
    source: Buffer | Readable,
    attrs: ObjectAttributes,
    conditions: { ifMatch?: string | undefined; ifNoneMatch?: '*' | undefined },
    signal: AbortSignal | undefined,
  ): Promise<ObjectInfo> => {
    const paths = objectPaths(root, key);
    const temp = await writeTemp(source, signal);
    const etagHex = randomBytes(16).toString('hex');
    const bodyName = `${paths.base}${BODY_SUFFIX}${etagHex}`;
    const bodyPath = join(paths.dir, bodyName);
    const meta: MetaRecord = {
      v: 1,
      key,
      size: temp.size,
      etag: `"${etagHex}"`,
      lastModified: Date.now(),
      ...attrs,
      body: bodyName,
    };
    let previous: MetaRecord | undefined;
    try {
      // The key's folder must exist for its lock.
      await mkdir(paths.dir, { recursive: true });
      await withKeyLock(paths.lock, tmpDir, key, timing, signal, async () => {
        previous = await readMeta(paths.meta);
        if (conditions.ifNoneMatch === '*' && previous) throw new PreconditionFailedError(key, 'If-None-Match: *');
        if (conditions.ifMatch !== undefined) {
          if (!previous) throw new NotFoundError(key);
          if (conditions.ifMatch !== '*' && conditions.ifMatch !== previous.etag) {
            throw new PreconditionFailedError(key, `If-Match: ${conditions.ifMatch}`);
          }
        }
        const metaTemp = join(tmpDir, ownedName());
        try {
          await writeFile(metaTemp, JSON.stringify(meta), { flag: 'wx', flush: durable });
          // The body stays in the temp folder (swept if this process dies) until just before the commit.
          await moveInto(temp.path, paths.dir, bodyPath);
          await rename(metaTemp, paths.meta); // the commit point
        } catch (error) {
          await unlink(metaTemp).catch(() => {});
          throw error;
        }
        await syncDir(paths.dir);
      });
    } catch (error) {
      await unlink(temp.path).catch(() => {});
      await unlink(bodyPath).catch(() => {});
      if (!previous) await pruneDirs(paths.dir);
      throw error;
    }
    if (previous && previous.body !== bodyName) await unlink(join(paths.dir, previous.body)).catch(() => {});
    return toInfo(meta);
  };

  /** Opens the current body of `key`: its metadata and an open handle (valid even if replaced meanwhile). */
  const openObject = async (key: string): Promise<{ meta: MetaRecord; handle: FileHandle }> => {
    const paths = objectPaths(root, key);
    for (let attempt = 0; ; attempt++) {
      const meta = await readMeta(paths.meta);
      if (!meta) throw new NotFoundError(key);
      try {
        return { meta, handle: await open(join(paths.dir, meta.body), 'r') };
      } catch (error) {
        // A concurrent write replaced the object and removed this body: read the new metadata.
        if (!isCode(error, 'ENOENT') || attempt === 10) throw error;
      }
    }
  };

  const openForRead = async (key: string, options: GetOptions | undefined) => {
    throwIfAborted(options?.signal);
    assertRangeShape(key, options?.range);
    const { meta, handle } = await openObject(key);
    try {
      if (options?.ifMatch !== undefined && options.ifMatch !== '*' && options.ifMatch !== meta.etag) {
        throw new PreconditionFailedError(key, `If-Match: ${options.ifMatch}`);
      }
      const range: ReturnedRange | undefined = options?.range ? resolveRange(key, options.range, meta.size) : undefined;
      return { meta, handle, range };
    } catch (error) {
      await handle.close();
      throw error;
    }
  };

  async function* keysFrom({ after, skipPrefix, prefix }: KeySourceStart): AsyncGenerator<string> {
    // Start in the deepest folder the prefix fully names.
    const fixed = prefix.split('/').slice(0, -1);
    const base = fixed.length ? `${fixed.join('/')}/` : '';
    for (const segment of fixed) {
      if (segment === '.' || segment === '..') return;
    }
    yield* walk(dirOf(root, fixed), base);

    async function* walk(dir: string, keyBase: string): AsyncGenerator<string> {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isCode(error, 'ENOENT', 'ENOTDIR')) return;
        throw error;
      }
      const entries: { sortKey: string; key: string; dir?: string }[] = [];
      for (const name of names) {
        if (name.endsWith(META_SUFFIX)) {
          const key = keyBase + decodeSegment(name.slice(0, -META_SUFFIX.length));
          entries.push({ sortKey: key, key });
        } else if (name.endsWith(DIR_SUFFIX)) {
          const sub = `${keyBase}${decodeSegment(name.slice(0, -DIR_SUFFIX.length))}/`;
          entries.push({ sortKey: sub, key: sub, dir: join(dir, name) });
        }
      }
      entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
      for (const entry of entries) {
        const { key } = entry;
        if (!key.startsWith(prefix) && !prefix.startsWith(key)) {
          if (compareKeys(key, prefix) > 0) return;
          continue;
        }
        if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
        if (entry.dir) {
          // Every key in this folder starts with `key`: all of them are before `after` unless `after` is inside.
          if (after !== undefined && compareKeys(key, after) < 0 && !after.startsWith(key)) continue;
          yield* walk(entry.dir, key);
        } else if (after === undefined || compareKeys(key, after) > 0) {
          yield key;
        }
      }
    }
  }

  const describeListed = async (key: string): Promise<ListedObject | undefined> => {
    const meta = await readMeta(objectPaths(root, key).meta);
    return meta ? { key, size: meta.size, etag: meta.etag, lastModified: new Date(meta.lastModified) } : undefined;
  };

  const store: ObjectStore = {
    adapter: 'filesystem',
    capabilities,

    async put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo> {
      try {
        throwIfAborted(options?.signal);
        objectPaths(root, key);
        assertPutOptions(key, options);
      } catch (error) {
        discard(body, error);
        throw error;
      }
      return guarded(key, options?.signal, () =>
        write(key, bytesOf(body) ?? toReadable(body), putAttributes(options), options ?? {}, options?.signal),
      ).catch((error: unknown) => {
        discard(body, error);
        throw error;
      });
    },

    async get(key: string, options?: GetOptions): Promise<StoredObject> {
      return guarded(key, options?.signal, async () => {
        const { meta, handle, range } = await openForRead(key, options);
        try {
          const length = range ? range.length : meta.size;
          const body = Buffer.alloc(length);
          let read = 0;
          while (read < length) {
            const { bytesRead } = await handle.read(body, read, length - read, (range?.offset ?? 0) + read);
            if (bytesRead === 0) break;
            read += bytesRead;
          }
          return { ...toInfo(meta), body: body.subarray(0, read), ...(range ? { range } : {}) };
        } finally {
          await handle.close();
        }
      });
    },

    async getStream(key: string, options?: GetOptions): Promise<ObjectStream> {
      const signal = options?.signal;
      return guarded(key, signal, async () => {
        const { meta, handle, range } = await openForRead(key, options);
        const raw = handle.createReadStream({
          highWaterMark: 1024 * 1024,
          ...(range ? { start: range.offset, end: range.offset + range.length - 1 } : {}),
        });
        // A read error mid-stream is a typed BackendError too.
        const body = withTypedErrors(raw, (error) => mapFsError(error, { key, root, signal }));
        if (signal) {
          const onAbort = () => body.destroy(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          body.once('close', () => signal.removeEventListener('abort', onAbort));
        }
        return objectStream(toInfo(meta), body, range);
      });
    },

    async head(key: string, options?: CallOptions): Promise<ObjectInfo> {
      throwIfAborted(options?.signal);
      const paths = objectPaths(root, key);
      return guarded(key, options?.signal, async () => {
        const meta = await readMeta(paths.meta);
        if (!meta) throw new NotFoundError(key);
        return toInfo(meta);
      });
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      throwIfAborted(options?.signal);
      const paths = objectPaths(root, key);
      return guarded(key, options?.signal, async () => {
        const exists = await readMeta(paths.meta);
        if (!exists) return;
        await withKeyLock(paths.lock, tmpDir, key, timing, options?.signal, async () => {
          const meta = await readMeta(paths.meta);
          if (!meta) return;
          await unlink(paths.meta).catch((error: unknown) => {
            if (!isCode(error, 'ENOENT')) throw error;
          });
          await unlink(join(paths.dir, meta.body)).catch(() => {});
        });
        await pruneDirs(paths.dir);
      });
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
      const parsedList = parseListOptions(options);
      return guarded(parsedList.prefix ?? '', options?.signal, () => buildPage(parsedList, keysFrom, describeListed));
    },

    async copy(source: string, destination: string, options?: CopyOptions): Promise<ObjectInfo> {
      throwIfAborted(options?.signal);
      objectPaths(root, destination);
      assertCopyOptions(destination, options);
      return guarded(destination, options?.signal, async () => {
        const { meta, handle } = await openObject(source);
        let body: Buffer | Readable;
        try {
          if (options?.sourceIfMatch !== undefined && options.sourceIfMatch !== meta.etag) {
            throw new PreconditionFailedError(source, `x-amz-copy-source-if-match: ${options.sourceIfMatch}`);
          }
          // The open handle keeps the source's bytes readable even if it is replaced meanwhile.
          body =
            meta.size <= 1024 * 1024
              ? await handle.readFile()
              : handle.createReadStream({ highWaterMark: 1024 * 1024 });
        } catch (error) {
          await handle.close();
          throw error;
        }
        if (Buffer.isBuffer(body)) await handle.close();
        const attrs = copyAttributes(toInfo(meta), options);
        try {
          return await write(destination, body, attrs, options ?? {}, options?.signal);
        } finally {
          if (!Buffer.isBuffer(body)) body.destroy();
        }
      });
    },
  };
  return instrumentStore(store);
}
