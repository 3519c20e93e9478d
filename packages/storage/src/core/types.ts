import type { Readable } from 'node:stream';

/**
 * What can be written as an object's body: a string (UTF-8), bytes, a Node
 * `Readable`, a web `ReadableStream` or any async iterable of bytes. Streams may
 * be of unknown length; they are never buffered whole.
 */
export type ObjectBody = string | Uint8Array | Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options shared by every store call. */
export interface CallOptions {
  /** Aborts the call; the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/**
 * HTTP attributes stored with an object and returned by reads, beside its
 * content type: what a CDN or a browser serving it needs. Printable ASCII.
 */
export interface ObjectHeaders {
  /** `Cache-Control`, e.g. `public, max-age=31536000, immutable`. */
  cacheControl?: string | undefined;
  /** `Content-Disposition`, e.g. `attachment; filename="trailer.mp4"`. */
  contentDisposition?: string | undefined;
  /** `Content-Encoding` of the stored bytes, e.g. `gzip` (the store does not decode them). */
  contentEncoding?: string | undefined;
}

/**
 * Options of {@link ObjectStore.put}. Unknown options are a `TypeError`;
 * values S3 could not store as given (non-ASCII metadata, metadata over 2 KiB)
 * are a `ValidationError`, on every adapter.
 */
export interface PutOptions extends CallOptions, ObjectHeaders {
  /** MIME type stored with the object (default `application/octet-stream`). */
  contentType?: string | undefined;
  /** User metadata stored with the object: names are HTTP header names (stored lower-cased), values printable ASCII, 2 KiB in all. */
  metadata?: Record<string, string> | undefined;
  /** `'*'`: create only: fail with `PreconditionFailedError` when the key already exists. */
  ifNoneMatch?: '*' | undefined;
  /** Compare-and-swap: write only if the current object's etag is this one (`PreconditionFailedError` otherwise, `NotFoundError` when there is no object). */
  ifMatch?: string | undefined;
  /** Length of a stream body in bytes, when known (lets S3 use a single PutObject for small streams). */
  contentLength?: number | undefined;
}

/** A byte range: `length` bytes from `offset` (to the end when `length` is omitted). */
export interface ByteRange {
  /** First byte, from 0. Must be below the object's size (`InvalidRangeError` otherwise). */
  offset: number;
  /** Number of bytes; a range running past the end is cut at the end. */
  length?: number | undefined;
}

/** Options of {@link ObjectStore.get} and {@link ObjectStore.getStream}. */
export interface GetOptions extends CallOptions {
  /** Read only these bytes. */
  range?: ByteRange | undefined;
  /** Read only if the current etag is this one (`PreconditionFailedError` otherwise). */
  ifMatch?: string | undefined;
}

/** What a store knows about an object without reading its body. */
export interface ObjectInfo extends ObjectHeaders {
  /** The object's key. */
  key: string;
  /** Size of the whole object in bytes (also for ranged reads). */
  size: number;
  /** Entity tag, quoted: changes whenever the object is written. Use it with `ifMatch`. */
  etag: string;
  /** When the object was last written. */
  lastModified: Date;
  /** MIME type given at write time. */
  contentType: string;
  /** User metadata given at write time (lower-cased names). */
  metadata: Record<string, string>;
}

/** The bytes actually returned by a ranged read. */
export interface ReturnedRange {
  /** First byte returned. */
  offset: number;
  /** Number of bytes returned. */
  length: number;
}

/** An object read whole (or a range of it, in memory). */
export interface StoredObject extends ObjectInfo {
  /** The object's bytes (only the range when one was asked for). */
  body: Buffer;
  /** Present when a range was asked for. */
  range?: ReturnedRange | undefined;
}

/** An object read as a stream. Consume or destroy `body`. */
export interface ObjectStream extends ObjectInfo {
  /** The object's bytes as a Node stream. */
  body: Readable;
  /** Present when a range was asked for. */
  range?: ReturnedRange | undefined;
  /** The same bytes as a web `ReadableStream` (use either `body` or this, not both). */
  toWeb(): ReadableStream<Uint8Array>;
}

/** Options of {@link ObjectStore.head}. */
export interface HeadOptions extends CallOptions {}

/** Options of {@link ObjectStore.delete} and {@link ObjectStore.deleteMany}. */
export interface DeleteOptions extends CallOptions {}

/** A key that {@link ObjectStore.deleteMany} could not delete. */
export interface DeleteFailure {
  /** The key. */
  key: string;
  /** The backend's error code, e.g. `AccessDenied`. */
  code: string;
  /** The backend's message. */
  message: string;
}

/** Result of {@link ObjectStore.deleteMany}. */
export interface DeleteManyResult {
  /** Keys deleted (missing keys count as deleted, as on S3). */
  deleted: number;
  /** Keys that could not be deleted. */
  failed: DeleteFailure[];
}

/** Options of {@link ObjectStore.list}. */
export interface ListOptions extends CallOptions {
  /** Only keys that start with this. */
  prefix?: string | undefined;
  /** Group keys that contain this after the prefix into common prefixes (usually `'/'`). */
  delimiter?: string | undefined;
  /** Only keys after this one (exclusive). */
  startAfter?: string | undefined;
  /** Entries fetched per page, 1 to 1000 (default 1000). */
  pageSize?: number | undefined;
}

/** Options of {@link ObjectStore.listPage}. */
export interface ListPageOptions extends ListOptions {
  /** The `cursor` of the previous page; omit for the first page. */
  cursor?: string | undefined;
}

/** An object as listed (content type and metadata need a `head`). */
export interface ListedObject {
  /** The object's key. */
  key: string;
  /** Body size in bytes. */
  size: number;
  /** Entity tag, quoted. */
  etag: string;
  /** When the object was last written. */
  lastModified: Date;
}

/** One entry of {@link ObjectStore.list}: an object, or a common prefix when a delimiter was given. */
export type ListEntry = ({ type: 'object' } & ListedObject) | { type: 'prefix'; prefix: string };

/** One page of {@link ObjectStore.listPage}, in key order. */
export interface ListPage {
  /** Objects of this page. */
  objects: ListedObject[];
  /** Common prefixes of this page (with a delimiter), each ending with the delimiter. */
  prefixes: string[];
  /** Opaque cursor of the next page; absent on the last page. */
  cursor?: string | undefined;
}

/**
 * Options of {@link ObjectStore.copy}. Each attribute given replaces the
 * source's; the others (cache control, disposition, encoding included) are kept.
 */
export interface CopyOptions extends CallOptions, ObjectHeaders {
  /** Copy only if the source's etag is this one (`PreconditionFailedError` otherwise). */
  sourceIfMatch?: string | undefined;
  /** `'*'`: fail if the destination exists. */
  ifNoneMatch?: '*' | undefined;
  /** Replace the destination only if its etag is this one. */
  ifMatch?: string | undefined;
  /** New content type for the copy (default: the source's). */
  contentType?: string | undefined;
  /** New metadata for the copy (default: the source's). */
  metadata?: Record<string, string> | undefined;
}

/**
 * What an adapter can do beyond the core. The conformance suite skips the
 * cases of a capability an adapter lacks, and says so.
 */
export interface StoreCapabilities {
  /** `ifNoneMatch` / `ifMatch` on writes, atomic against concurrent writers. */
  conditionalWrites: boolean;
  /** `range` on reads. */
  rangeReads: boolean;
  /** Presigned GET/PUT URLs ({@link PresigningStore}). */
  presign: boolean;
  /** Large and unknown-length bodies go up in parts; a failed upload leaves no parts behind. */
  multipart: boolean;
  /** Bodies stream to and from the backing store without being held in this process's memory. */
  streaming: boolean;
}

/**
 * The one interface every storage adapter implements, so that services code
 * against it and switch store (memory, filesystem, S3) by configuration.
 * Every method validates the key (`InvalidKeyError`) and honours `signal`.
 */
export interface ObjectStore {
  /** Adapter name, e.g. `memory`, `filesystem`, `s3`. */
  readonly adapter: string;
  /** What this adapter supports beyond the core. */
  readonly capabilities: StoreCapabilities;
  /** Writes `body` at `key`, replacing any object there unless a condition says otherwise. */
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Reads the object (or a range of it) into memory. @throws {NotFoundError} when there is none. */
  get(key: string, options?: GetOptions): Promise<StoredObject>;
  /** Reads the object (or a range of it) as a stream. @throws {NotFoundError} when there is none. */
  getStream(key: string, options?: GetOptions): Promise<ObjectStream>;
  /** Describes the object at `key`. @throws {NotFoundError} when there is none. */
  head(key: string, options?: HeadOptions): Promise<ObjectInfo>;
  /** Deletes the object at `key`; deleting a missing key is not an error. */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /** Deletes many keys, in batches, from an array or an (async) iterable such as a listing. */
  deleteMany(keys: Iterable<string> | AsyncIterable<string>, options?: DeleteOptions): Promise<DeleteManyResult>;
  /** Lists objects in key order, page by page, as an async iterable (never one unbounded array). */
  list(options?: ListOptions): AsyncIterable<ListEntry>;
  /** Lists one page; pass its `cursor` back for the next. */
  listPage(options?: ListPageOptions): Promise<ListPage>;
  /** Copies `source` to `destination` inside the store. @throws {NotFoundError} when the source is missing. */
  copy(source: string, destination: string, options?: CopyOptions): Promise<ObjectInfo>;
}

/** Options of {@link PresigningStore.presign}. */
export interface PresignOptions {
  /** `GET` to download, `PUT` to upload (default `GET`). */
  method?: 'GET' | 'PUT' | undefined;
  /** Lifetime of the URL in seconds (default 900, at most 604800). */
  expiresIn?: number | undefined;
  /** For `PUT`: the content type the uploader must send. */
  contentType?: string | undefined;
}

/** A store that can hand out presigned URLs (the S3 adapter). */
export interface PresigningStore extends ObjectStore {
  /** A URL that lets anyone holding it GET or PUT `key` until it expires, without credentials. */
  presign(key: string, options?: PresignOptions): Promise<string>;
}

/** True when `store` can hand out presigned URLs. */
export function canPresign(store: ObjectStore): store is PresigningStore {
  return store.capabilities.presign && typeof (store as Partial<PresigningStore>).presign === 'function';
}
