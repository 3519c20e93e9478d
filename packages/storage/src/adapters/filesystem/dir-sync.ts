import { type FileHandle, open } from 'node:fs/promises';

/**
 * fsyncs the folder `dir`, so the names renamed into it survive a crash or
 * power loss. A folder that is gone (a concurrent delete emptied and removed
 * it) holds nothing left to make durable.
 */
async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface DirState {
  /** The fsync under way. */
  running: Promise<void> | undefined;
  /** The next fsync, not started yet: every caller that arrives before it starts shares it. */
  queued: Promise<void> | undefined;
}

/**
 * Folder fsyncs shared by concurrent writers (a group commit): a caller is
 * answered by an fsync that started after it asked, so whatever it renamed
 * into the folder before asking is durable; callers that ask while one runs
 * share the next one instead of each running their own.
 */
export function createDirSyncer(sync: (dir: string) => Promise<void> = fsyncDir): (dir: string) => Promise<void> {
  const states = new Map<string, DirState>();

  const begin = (dir: string, state: DirState): Promise<void> => {
    state.queued = undefined;
    const run: Promise<void> = sync(dir).finally(() => {
      if (state.running === run) state.running = undefined;
      if (!state.running && !state.queued && states.get(dir) === state) states.delete(dir);
    });
    state.running = run;
    return run;
  };

  return (dir) => {
    let state = states.get(dir);
    if (!state) {
      state = { running: undefined, queued: undefined };
      states.set(dir, state);
    }
    if (state.queued) return state.queued;
    if (!state.running) return begin(dir, state);
    const current = state;
    const next = () => begin(dir, current);
    state.queued = state.running.then(next, next);
    return state.queued;
  };
}
