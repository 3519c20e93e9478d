import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../../errors.js';

/** Timing of the cross-process key lock. */
export interface LockTiming {
  /** Give up (with a retryable `ConflictError`) after waiting this long, ms. */
  timeoutMs: number;
  /** A lock file older than this is stale (its holder died), ms. */
  staleMs: number;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

const host = hostname();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockContent;
  } catch {
    return undefined; // gone, or being written
  }
}

/** True when the lock at `path` belongs to a dead process of this host, or is older than `staleMs`. */
async function isStale(path: string, content: LockContent | undefined, staleMs: number): Promise<boolean> {
  if (content && content.host === host && !isAlive(content.pid)) return true;
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
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
  if (judged && taken && taken.token !== judged.token) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

/** In-process queue per lock path, so writers of this process take turns before touching the lock file. */
const queues = new Map<string, Promise<void>>();

/**
 * Runs `task` holding the key's lock, across the writers of this process (a
 * promise queue) and across processes (a lock file created with `open(…, 'wx')`,
 * which only one process can do; stale locks of dead holders are broken).
 */
export async function withKeyLock<T>(
  path: string,
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
    return await withFileLock(path, key, timing, signal, task);
  } finally {
    release();
    if (queues.get(path) === tail) queues.delete(path);
  }
}

async function withFileLock<T>(
  path: string,
  key: string,
  timing: LockTiming,
  signal: AbortSignal | undefined,
  task: () => Promise<T>,
): Promise<T> {
  const content: LockContent = { pid: process.pid, host, token: randomBytes(12).toString('hex') };
  const deadline = Date.now() + timing.timeoutMs;
  let delay = 1;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(content));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(path);
    if (await isStale(path, holder, timing.staleMs)) {
      await breakLock(path, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ConflictError(key, `another writer held the key's lock for more than ${timing.timeoutMs} ms (${path})`);
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 25);
  }
  try {
    return await task();
  } finally {
    // Remove the lock only if it is still ours (it could have been broken as stale).
    const current = await readLock(path);
    if (current?.token === content.token) await unlink(path).catch(() => {});
  }
}
