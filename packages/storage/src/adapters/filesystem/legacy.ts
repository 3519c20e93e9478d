import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectAttributes } from '../../core/write-options.js';
import type { ObjectPaths } from './paths.js';

/**
 * The layout of earlier versions: a metadata file (`<base>~m`, JSON) naming
 * a body file beside it (`<base>~b<etag>`). Such objects stay readable; the
 * next write or delete of the key removes both files.
 */
export interface LegacyMetaRecord extends ObjectAttributes {
  v: 1;
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  /** Name of the body file, beside this one. */
  body: string;
}

/** The metadata of the key's object in the earlier layout, or undefined when it has none (one failed open). */
export async function readLegacyMeta(path: string): Promise<LegacyMetaRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LegacyMetaRecord;
  } catch (error) {
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException)?.code ?? '')) return undefined;
    throw error;
  }
}

/** Removes the key's files of the earlier layout, if any: metadata first (it is what readers look for), then the body. */
export async function removeLegacy(paths: ObjectPaths): Promise<void> {
  const legacy = await readLegacyMeta(paths.meta);
  if (!legacy) return;
  await unlink(paths.meta).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException)?.code !== 'ENOENT') throw error;
  });
  await unlink(join(paths.dir, legacy.body)).catch(() => {});
}
