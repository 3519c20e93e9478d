import type { FileHandle } from 'node:fs/promises';
import { open, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ObjectAttributes } from '../../core/write-options.js';
import { BackendError } from '../../errors.js';

/**
 * An object's description, stored at the head of its object file (format 2:
 * one file holds the description and the body, so a write is one file
 * written, synced and renamed into place).
 */
export interface ObjectHeader extends ObjectAttributes {
  v: 2;
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

/**
 * An object file: `\0BK2`, the header's length (uint32, big-endian), the
 * header (JSON), then the body. The size is written space-padded to a fixed
 * width, so a streamed body's header can be rewritten in place once its size
 * is known.
 */
const MAGIC = Buffer.from([0x00, 0x42, 0x4b, 0x32]);
const PREFIX_BYTES = 8;
const SIZE_WIDTH = 16;
/** Bytes read at once when only the header is wanted (head, list, a write's precondition). */
export const HEADER_READ_AHEAD = 4 * 1024;
/** Bytes read at once for a whole object: a small one is read with its header in one call. */
export const OBJECT_READ_AHEAD = 64 * 1024;

/** Encodes `header` (its size padded to a fixed width, so a later rewrite has the same length). */
export function encodeHeader(header: ObjectHeader): Buffer {
  const { size, ...rest } = header;
  const json = Buffer.from(`{"size":${String(size).padEnd(SIZE_WIDTH)},${JSON.stringify(rest).slice(1)}`, 'utf8');
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.length);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(json.length, 4);
  json.copy(out, PREFIX_BYTES);
  return out;
}

/** An object file opened for reading: its header, the body's offset, and the body bytes read with the header. */
export interface OpenedObject {
  header: ObjectHeader;
  handle: FileHandle;
  /** Where the body starts in the file. */
  bodyOffset: number;
  /** The body's first bytes, read with the header (all of it for a small object). */
  ahead: Buffer;
}

const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException)?.code ?? '');

const corrupt = (path: string, why: string) =>
  new BackendError(
    `filesystem object file '${path}' is damaged (${why}): it was not written by this store, or the disk lost data; delete the key or restore the file`,
    { status: 'EBADOBJECT', retryable: false },
  );

/**
 * Opens the object file at `path` and reads its header with the body's first
 * bytes (`readAhead` bytes in one read). Undefined when there is no such file.
 * The caller closes the handle.
 */
export async function openObjectFile(path: string, readAhead: number): Promise<OpenedObject | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    let buffer = Buffer.allocUnsafe(readAhead);
    let { bytesRead } = await handle.read(buffer, 0, readAhead, 0);
    if (bytesRead < PREFIX_BYTES || !buffer.subarray(0, 4).equals(MAGIC)) throw corrupt(path, 'no object header');
    const headerEnd = PREFIX_BYTES + buffer.readUInt32BE(4);
    if (headerEnd > bytesRead) {
      const whole = Buffer.allocUnsafe(headerEnd);
      buffer.copy(whole, 0, 0, bytesRead);
      const rest = await handle.read(whole, bytesRead, headerEnd - bytesRead, bytesRead);
      if (rest.bytesRead !== headerEnd - bytesRead) throw corrupt(path, 'header cut short');
      buffer = whole;
      bytesRead = headerEnd;
    }
    let header: ObjectHeader;
    try {
      header = JSON.parse(buffer.toString('utf8', PREFIX_BYTES, headerEnd)) as ObjectHeader;
    } catch {
      throw corrupt(path, 'header is not JSON');
    }
    return { header, handle, bodyOffset: headerEnd, ahead: buffer.subarray(headerEnd, bytesRead) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The header of the object file at `path` (one open, one read, one close), or undefined when there is none. */
export async function readObjectHeader(path: string): Promise<ObjectHeader | undefined> {
  const opened = await openObjectFile(path, HEADER_READ_AHEAD);
  if (!opened) return undefined;
  await opened.handle.close();
  return opened.header;
}

/** Reads `length` body bytes from `offset` (of the body) into a new buffer, using the bytes read ahead first. */
export async function readBody(opened: OpenedObject, offset: number, length: number): Promise<Buffer> {
  const body = Buffer.allocUnsafe(length);
  let filled = 0;
  if (offset < opened.ahead.length)
    filled = opened.ahead.copy(body, 0, offset, Math.min(opened.ahead.length, offset + length));
  while (filled < length) {
    const { bytesRead } = await opened.handle.read(body, filled, length - filled, opened.bodyOffset + offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? body : body.subarray(0, filled);
}

/**
 * Writes a new object file at `path` (which must not exist): the header, then
 * `source`; with `durable`, its data is synced (fdatasync) before this
 * resolves. Returns the body's size. On failure the file is removed.
 */
export async function writeObjectFile(
  path: string,
  header: Omit<ObjectHeader, 'size'>,
  source: Buffer | Readable,
  durable: boolean,
  signal: AbortSignal | undefined,
): Promise<number> {
  const handle = await open(path, 'wx');
  try {
    let size: number;
    if (Buffer.isBuffer(source)) {
      size = source.byteLength;
      await writeAll(handle, [encodeHeader({ ...header, size } as ObjectHeader), source]);
    } else {
      // The header first with size 0, the body after it, then the header again with the real size (same length).
      const placeholder = encodeHeader({ ...header, size: 0 } as ObjectHeader);
      size = await writeStream(handle, placeholder, source, signal);
      await writeAll(handle, [encodeHeader({ ...header, size } as ObjectHeader)], 0);
    }
    if (durable) await handle.datasync();
    await handle.close();
    return size;
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
}

/** Bytes of a streamed body gathered before one write. */
const STREAM_BATCH_BYTES = 1024 * 1024;

/**
 * Writes `first`, then every chunk of `source` after it, gathered into writes
 * of about {@link STREAM_BATCH_BYTES}; returns the bytes of `source` written.
 * An abort of `signal` destroys `source` and rejects.
 */
async function writeStream(
  handle: FileHandle,
  first: Buffer,
  source: Readable,
  signal: AbortSignal | undefined,
): Promise<number> {
  const onAbort = () => source.destroy(signal?.reason);
  signal?.throwIfAborted();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let batch: Buffer[] = [first];
    let batchBytes = first.length;
    let position = 0;
    for await (const chunk of source) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
      batch.push(bytes);
      batchBytes += bytes.length;
      if (batchBytes >= STREAM_BATCH_BYTES) {
        await writeAll(handle, batch, position);
        position += batchBytes;
        batch = [];
        batchBytes = 0;
      }
    }
    await writeAll(handle, batch, position);
    return position + batchBytes - first.length;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Writes every byte of `buffers` at `position` (default: the file's current position), in as few calls as the OS allows. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position?: number): Promise<void> {
  let pending = buffers.filter((buffer) => buffer.length > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    if (at !== undefined) at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    pending = rest;
  }
}
