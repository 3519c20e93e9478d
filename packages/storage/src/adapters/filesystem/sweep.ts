import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerOf, ownerState } from './owner.js';

/** A temp file of no known owner (an older naming scheme) older than this is an orphan. */
export const UNOWNED_TEMP_MAX_AGE_MS = 60 * 60 * 1000;
/** A temp file written on another host (a shared folder) older than this is an orphan. */
export const FOREIGN_TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the orphaned temporary files in `dir`: those whose writer (named
 * in the file name) is dead, and unowned or other hosts' files past their
 * age limit. Files of live writers are never touched. Best effort: files that
 * vanish or resist are skipped. Returns how many were removed.
 */
export async function sweepTempFiles(dir: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const owner = ownerOf(name);
    let orphan = owner !== undefined && ownerState(owner) === 'dead';
    if (!orphan && (owner === undefined || ownerState(owner) === 'unknown')) {
      const limit = owner === undefined ? UNOWNED_TEMP_MAX_AGE_MS : FOREIGN_TEMP_MAX_AGE_MS;
      const mtime = await stat(path).then(
        (s) => s.mtimeMs,
        () => now,
      );
      orphan = now - mtime > limit;
    }
    if (
      orphan &&
      (await unlink(path).then(
        () => true,
        () => false,
      ))
    )
      removed++;
  }
  return removed;
}
