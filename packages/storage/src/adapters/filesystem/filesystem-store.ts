import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
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
import { createDirSyncer } from './dir-sync.js';
import { mapFsError } from './errors.js';
import { type LegacyMetaRecord, readLegacyMeta, removeLegacy } from './legacy.js';
import { type LockTiming, withKeyLock } from './lock.js';
import {
  OBJECT_READ_AHEAD,
  type ObjectHeader,
  type OpenedObject,
  openObjectFile,
  readBody,
  readObjectHeader,
  writeObjectFile,
} from './object-file.js';
import { ownedName } from './owner.js';
import {
  DIR_SUFFIX,
  decodeSegment,
  dirOf,
  META_SUFFIX,
  OBJECT_SUFFIX,
  type ObjectPaths,
  objectPaths,
  TMP_DIR,
} from './paths.js';
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

/** An object's description: the header of its object file, or the metadata file of the earlier layout. */
type Described = ObjectHeader | LegacyMetaRecord;

/** Folders known to have a durable entry in their parent; forgotten past this many (then synced again once). */
const KNOWN_DIRS_MAX = 10_000;

const capabilities: StoreCapabilities = Object.freeze({
  conditionalWrites: true,
  rangeReads: true,
  presign: false,
  multipart: false,
  streaming: true,
});

const isCode = (error: unknown, ...codes: string[]) => codes.includes((error as NodeJS.ErrnoException)?.code ?? '');

const toInfo = (meta: Described): ObjectInfo => ({
  key: meta.key,
  size: meta.size,
  etag: meta.etag,
  lastModified: new Date(meta.lastModified),
  contentType: meta.contentType,
  metadata: { ...meta.metadata },
  ...headerAttributes(meta),
});

/**
 * An {@link ObjectStore} in a folder: the embedded default. Each object is one
 * file holding its description (a header) and its body; a write streams both
 * to a temporary file, syncs its data, renames it over the key's file (the
 * commit: readers see the old object or the new one, never a mix) and syncs
 * the folder, a sync that concurrent writes to one folder share. ETags are
 * random per write. Writes hold a per-key lock that is safe across writers of
 * one process and across processes, so conditional writes are atomic.
 * Objects written by earlier versions (a metadata file and a body file) are
 * read as they are, and replaced by the key's next write.
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

  const syncDir = createDirSyncer();
  /** Folders whose entry in their parent is known durable (synced by this store, or found there). */
  const knownDirs = new Set<string>([root]);
  /**
   * Makes `dir`'s own entry durable, and its parents' up to the root (a write
   * may have created them): each parent is synced once per store.
   */
  const syncParents = async (dir: string) => {
    if (knownDirs.size > KNOWN_DIRS_MAX) knownDirs.clear();
    const chain: string[] = [];
    for (let current = dir; !knownDirs.has(current) && current.startsWith(root); current = dirname(current)) {
      chain.push(current);
    }
    for (const folder of chain) await syncDir(dirname(folder));
    for (const folder of chain) knownDirs.add(folder);
  };

  /**
   * The key's current description: its object file's header, else the
   * earlier layout's metadata; the object file is looked for again when both
   * are missing (a write may have replaced the earlier layout in between).
   */
  const describe = async (paths: ObjectPaths): Promise<Described | undefined> =>
    (await readObjectHeader(paths.object)) ??
    (await readLegacyMeta(paths.meta)) ??
    (await readObjectHeader(paths.object));

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
   * The write path shared by put and copy: header and body to a temp file
   * (data synced), then under the key's lock the preconditions and the
   * commit (a rename over the key's file), then the folder's sync.
   */
  const write = async (
    key: string,
    source: Buffer | Readable,
    attrs: ObjectAttributes,
    conditions: { ifMatch?: string | undefined; ifNoneMatch?: '*' | undefined },
    signal: AbortSignal | undefined,
  ): Promise<ObjectInfo> => {
    const paths = objectPaths(root, key);
    void sweep();
    // Named after this process: a sweep removes it only once this process is gone.
    const temp = join(tmpDir, ownedName());
    const header = {
      v: 2 as const,
      key,
      etag: `"${randomBytes(16).toString('hex')}"`,
      lastModified: Date.now(),
      ...attrs,
    };
    let size: number;
    try {
      size = await writeObjectFile(temp, header, source, durable, signal);
    } catch (error) {
      throw abortReasonOr(signal, error);
    }
    let committed = false;
    try {
      await withKeyLock(paths.lock, tmpDir, key, timing, signal, async () => {
        if (conditions.ifNoneMatch !== undefined || conditions.ifMatch !== undefined) {
          const previous = await describe(paths);
          if (conditions.ifNoneMatch === '*' && previous) throw new PreconditionFailedError(key, 'If-None-Match: *');
          if (conditions.ifMatch !== undefined) {
            if (!previous) throw new NotFoundError(key);
            if (conditions.ifMatch !== '*' && conditions.ifMatch !== previous.etag) {
              throw new PreconditionFailedError(key, `If-Match: ${conditions.ifMatch}`);
            }
          }
        }
        await moveInto(temp, paths.dir, paths.object); // the commit point
        committed = true;
        await removeLegacy(paths);
      });
    } catch (error) {
      if (!committed) {
        await unlink(temp).catch(() => {});
        await pruneDirs(paths.dir);
      }
      throw error;
    }
    if (durable) {
      await syncDir(paths.dir);
      await syncParents(paths.dir);
    }
    return toInfo({ ...header, size });
  };

  /**
   * Opens the current body of `key`: its description, an open handle (valid
   * even if the object is replaced meanwhile) and the bytes read with the header.
   */
  const openObject = async (key: string): Promise<{ meta: Described; opened: OpenedObject }> => {
    const paths = objectPaths(root, key);
    for (let attempt = 0; ; attempt++) {
      const current = await openObjectFile(paths.object, OBJECT_READ_AHEAD);
      if (current) return { meta: current.header, opened: current };
      const legacy = await readLegacyMeta(paths.meta);
      if (!legacy) {
        // A write may have replaced the earlier layout in between.
        const late = await openObjectFile(paths.object, OBJECT_READ_AHEAD);
        if (late) return { meta: late.header, opened: late };
        throw new NotFoundError(key);
      }
      try {
        const handle = await open(join(paths.dir, legacy.body), 'r');
        return {
          meta: legacy,
          opened: { header: legacy as unknown as ObjectHeader, handle, bodyOffset: 0, ahead: Buffer.alloc(0) },
        };
      } catch (error) {
        // A concurrent write replaced the object and removed this body: look again.
        if (!isCode(error, 'ENOENT') || attempt === 10) throw error;
      }
    }
  };

  const openForRead = async (key: string, options: GetOptions | undefined) => {
    throwIfAborted(options?.signal);
    assertRangeShape(key, options?.range);
    const { meta, opened } = await openObject(key);
    try {
      if (options?.ifMatch !== undefined && options.ifMatch !== '*' && options.ifMatch !== meta.etag) {
        throw new PreconditionFailedError(key, `If-Match: ${options.ifMatch}`);
      }
      const range: ReturnedRange | undefined = options?.range ? resolveRange(key, options.range, meta.size) : undefined;
      return { meta, opened, range };
    } catch (error) {
      await opened.handle.close();
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
        // An object file, or the metadata file of the earlier layout (a key may have both for a moment).
        const suffix = name.endsWith(OBJECT_SUFFIX) ? OBJECT_SUFFIX : name.endsWith(META_SUFFIX) ? META_SUFFIX : '';
        if (suffix) {
          const key = keyBase + decodeSegment(name.slice(0, -suffix.length));
          entries.push({ sortKey: key, key });
        } else if (name.endsWith(DIR_SUFFIX)) {
          const sub = `${keyBase}${decodeSegment(name.slice(0, -DIR_SUFFIX.length))}/`;
          entries.push({ sortKey: sub, key: sub, dir: join(dir, name) });
        }
      }
      entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
      let previous: string | undefined;
      for (const entry of entries) {
        const { key } = entry;
        if (key === previous) continue;
        previous = key;
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
    const meta = await describe(objectPaths(root, key));
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
        const { meta, opened, range } = await openForRead(key, options);
        try {
          const body = await readBody(opened, range?.offset ?? 0, range ? range.length : meta.size);
          return { ...toInfo(meta), body, ...(range ? { range } : {}) };
        } finally {
          await opened.handle.close();
        }
      });
    },

    async getStream(key: string, options?: GetOptions): Promise<ObjectStream> {
      const signal = options?.signal;
      return guarded(key, signal, async () => {
        const { meta, opened, range } = await openForRead(key, options);
        const start = opened.bodyOffset + (range?.offset ?? 0);
        const raw = opened.handle.createReadStream({
          highWaterMark: 1024 * 1024,
          start,
          ...(range ? { end: start + range.length - 1 } : {}),
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
        const meta = await describe(paths);
        if (!meta) throw new NotFoundError(key);
        return toInfo(meta);
      });
    },

    async delete(key: string, options?: CallOptions): Promise<void> {
      throwIfAborted(options?.signal);
      const paths = objectPaths(root, key);
      return guarded(key, options?.signal, async () => {
        const exists = await describe(paths);
        if (!exists) return;
        await withKeyLock(paths.lock, tmpDir, key, timing, options?.signal, async () => {
          await unlink(paths.object).catch((error: unknown) => {
            if (!isCode(error, 'ENOENT', 'ENOTDIR')) throw error;
          });
          await removeLegacy(paths);
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
        const { meta, opened } = await openObject(source);
        const { handle } = opened;
        let body: Buffer | Readable;
        try {
          if (options?.sourceIfMatch !== undefined && options.sourceIfMatch !== meta.etag) {
            throw new PreconditionFailedError(source, `x-amz-copy-source-if-match: ${options.sourceIfMatch}`);
          }
          // The open handle keeps the source's bytes readable even if it is replaced meanwhile.
          body =
            meta.size <= 1024 * 1024
              ? await readBody(opened, 0, meta.size)
              : handle.createReadStream({ highWaterMark: 1024 * 1024, start: opened.bodyOffset });
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
