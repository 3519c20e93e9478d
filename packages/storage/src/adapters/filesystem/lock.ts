import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../../errors.js';
import { ownedName, ownerState, self } from './owner.js';

/** Timing of the cross-process key lock. */
export interface LockTiming {
  /** Give up (with a retryable `ConflictError`) after waiting this long, ms. */
  timeoutMs: number;
  /** A lock file older than this is stale (its holder died), ms. */
  staleMs: number;
}

/**
 * A lock file whose holder cannot be read (empty or cut short: left by a
 * writer of an older version killed while creating it) is stale once older
 * than this, ms. Locks of this version are never unreadable: they are written
 * whole, then linked into place.
 */
export const UNATTRIBUTED_LOCK_GRACE_MS = 2_000;

interface LockContent {
  pid: number;
  host: string;
  token: string;
  /** The holder's start time (see `Owner.start`), to tell a reused pid apart. */
  start?: string | undefined;
}

const host = hostname();

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    const content = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent> | null;
    if (typeof content?.pid !== 'number' || typeof content.host !== 'string' || typeof content.token !== 'string') {
      return undefined;
    }
    return content as LockContent;
  } catch {
    return undefined; // gone, or not a lock this version can attribute
  }
}

/**
 * True when the lock at `path` belongs to a dead process of this host, cannot
 * be attributed and is older than a short grace, or is older than `staleMs`.
 */
async function isStale(path: string, content: LockContent | undefined, staleMs: number): Promise<boolean> {
  if (content && content.host === host) {
    const state = ownerState({ host: self.host, pid: content.pid, start: content.start ?? '' });
    if (state === 'dead') return true;
  }
  try {
    const age = Date.now() - (await stat(path)).mtimeMs;
    return age > (content ? staleMs : Math.min(UNATTRIBUTED_LOCK_GRACE_MS, staleMs));
  } catch {
    return false;
  }
}

/**
 * Removes a stale lock without ever removing a live one: the lock is renamed
 * aside (atomic, so only one breaker gets it), then checked to be the one that
 * was judged stale; a fresh lock taken by mistake is put back with `link`,
 * which fails rather than overwrite a newer lock.
 */
async function breakLock(path: string, judged: LockContent | undefined): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const taken = await readLock(aside);
  // Not the lock that was judged (a fresh one linked in meanwhile): put it back.
  if (taken && taken.token !== judged?.token) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

/** In-process queue per lock path, so writers of this process take turns before touching the lock file. */
const queues = new Map<string, Promise<void>>();

/**
 * Runs `task` holding the key's lock, across the writers of this process (a
 * promise queue) and across processes (a lock file written whole under a temp
 * name in `tmpDir`, then hard-linked into place: `link` fails if the lock
 * exists, so only one process takes it, and a lock never exists without its
 * holder; stale locks of dead holders are broken).
 */
export async function withKeyLock<T>(
  path: string,
  tmpDir: string,
  key: string,
  timing: LockTiming,
  signal: AbortSignal | undefined,
  task: () => Promise<T>,
): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  queues.set(path, tail);
  try {
    await previous;
    return await withFileLock(path, tmpDir, key, timing, signal, task);
  } finally {
    release();
    if (queues.get(path) === tail) queues.delete(path);
  }
}

/** Links the whole lock file `temp` into place at `path`; false when a lock is already there. */
async function tryLink(temp: string, path: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await link(temp, path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // The key's folder was removed by a concurrent delete: re-create it.
      if (code !== 'ENOENT' || attempt === 5) throw error;
      await mkdir(dirname(path), { recursive: true });
    }
  }
}

async function withFileLock<T>(
  path: string,
  tmpDir: string,
  key: string,
  timing: LockTiming,
  signal: AbortSignal | undefined,
  task: () => Promise<T>,
): Promise<T> {
  const content: LockContent = { pid: process.pid, host, token: randomBytes(12).toString('hex'), start: self.start };
  const temp = join(tmpDir, ownedName());
  await writeFile(temp, JSON.stringify(content), { flag: 'wx' });
  const deadline = Date.now() + timing.timeoutMs;
  let delay = 1;
  let waited = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (await tryLink(temp, path)) {
        // Its age counts from now, not from when the temp file was written (just now, unless it waited).
        if (waited) {
          const now = new Date();
          await utimes(path, now, now).catch(() => {});
        }
        break;
      }
      waited = true;
      const holder = await readLock(path);
      if (await isStale(path, holder, timing.staleMs)) {
        await breakLock(path, holder);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new ConflictError(
          key,
          `another writer held the key's lock for more than ${timing.timeoutMs} ms (${path})`,
        );
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 25);
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
  try {
    return await task();
  } finally {
    // Remove the lock only if it is still ours (it could have been broken as stale).
    const current = await readLock(path);
    if (current?.token === content.token) await unlink(path).catch(() => {});
  }
}
