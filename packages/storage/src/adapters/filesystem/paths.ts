import { join } from 'node:path';
import { assertValidKey } from '../../core/keys.js';
import { InvalidKeyError } from '../../errors.js';

/** Suffix of a directory that holds the keys under one `/` segment. */
export const DIR_SUFFIX = '~d';
/** Suffix of an object's file: its header and body in one file, renamed into place (the commit point of a write). */
export const OBJECT_SUFFIX = '~o';
/** Suffix of an object's metadata file in the layout of earlier versions (read, and replaced on the next write). */
export const META_SUFFIX = '~m';
/** Suffix (before the etag) of an object's body file in the layout of earlier versions. */
export const BODY_SUFFIX = '~b';
/** Suffix of an object's lock file. */
export const LOCK_SUFFIX = '~l';
/** Folder under the root for temporary files (never a key: encoded names never start with `.`). */
export const TMP_DIR = '.backlot-tmp';

/** Longest encoded file name we produce, leaving room for suffixes under the usual 255-byte limit. */
const MAX_NAME_BYTES = 200;
/**
 * Longest path, in bytes, of any file the adapter creates: the operating
 * system's limit (`PATH_MAX` less its NUL: 1023 on macOS, 4095 elsewhere).
 */
export const MAX_PATH_BYTES = process.platform === 'darwin' ? 1023 : 4095;
/** Bytes the longest file of a key adds to `<dir>/<base>`: `~b` and a 32-digit etag. */
const LONGEST_SUFFIX_BYTES = 2 + 32;
const EMPTY_SEGMENT = '%00';

/**
 * Encodes one key segment into a file name that is the same on every
 * filesystem: lower-case ASCII letters, digits, `_`, `-` and inner `.` stay,
 * everything else (upper case included, for case-insensitive filesystems, and
 * all non-ASCII, for normalising ones) becomes `%XX` of its UTF-8 bytes.
 */
export function encodeSegment(segment: string): string {
  if (segment === '') return EMPTY_SEGMENT;
  let out = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    const c = String.fromCharCode(byte);
    const keep = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || c === '_' || c === '-';
    if (keep || (c === '.' && out.length > 0)) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link encodeSegment}. */
export function decodeSegment(name: string): string {
  if (name === EMPTY_SEGMENT) return '';
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '%') {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(name.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Where an object's files live. */
export interface ObjectPaths {
  /** The folder holding the object's files. */
  dir: string;
  /** Encoded last segment: the files are `<base>~o` and `<base>~l` (and `<base>~m`, `<base>~b<etag>` of earlier versions). */
  base: string;
  /** The object file. */
  object: string;
  /** The metadata file of an object written by an earlier version. */
  meta: string;
  lock: string;
}

/**
 * Validates a key for the filesystem (on top of the shared rules) and maps it
 * to its paths. Keys can never escape the root: `.`/`..` segments, absolute
 * paths and NUL bytes are rejected, and every segment is encoded anyway.
 * @throws {InvalidKeyError}
 */
export function objectPaths(root: string, key: string): ObjectPaths {
  assertValidKey(key);
  if (key.startsWith('/') || key.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(key)) {
    throw new InvalidKeyError(
      key,
      'absolute paths are not allowed as keys on the filesystem adapter; drop the leading / or drive',
    );
  }
  const segments = key.split('/');
  for (const segment of segments) {
    for (const part of segment.split('\\')) {
      if (part === '..' || part === '.') {
        throw new InvalidKeyError(
          key,
          `'${part}' path segments are not allowed on the filesystem adapter (they could escape the root folder)`,
        );
      }
    }
  }
  const encoded = segments.map(encodeSegment);
  for (const name of encoded) {
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw new InvalidKeyError(
        key,
        `a '/'-separated segment is too long for the filesystem adapter (at most ${MAX_NAME_BYTES} bytes once encoded; upper case and non-ASCII characters take 3 bytes each): split it with '/'`,
      );
    }
  }
  const base = encoded.pop() as string;
  const dir = join(root, ...encoded.map((name) => name + DIR_SUFFIX));
  const pathBytes = Buffer.byteLength(dir) + 1 + Buffer.byteLength(base) + LONGEST_SUFFIX_BYTES;
  if (pathBytes > MAX_PATH_BYTES) {
    throw new InvalidKeyError(
      key,
      `its path under the root is too long for the filesystem adapter (${pathBytes} bytes once encoded, with the root '${root}'; at most ${MAX_PATH_BYTES}): each '/' adds a folder (2 bytes, 5 for an empty segment), upper-case and non-ASCII characters take 3 bytes each; use a shorter key or root`,
    );
  }
  return {
    dir,
    base,
    object: join(dir, base + OBJECT_SUFFIX),
    meta: join(dir, base + META_SUFFIX),
    lock: join(dir, base + LOCK_SUFFIX),
  };
}

/** The folder holding keys that start with `segments.join('/') + '/'`. */
export function dirOf(root: string, segments: string[]): string {
  return join(root, ...segments.map((s) => encodeSegment(s) + DIR_SUFFIX));
}
