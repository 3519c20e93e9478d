import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink } from '../src/index.js';

const dirs: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-events-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Polls `check` until it is true; fails with `what` after `ms`. Not a timing assertion: a bound on waiting. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A sink that keeps what it flushed, for assertions. */
export function collect<T>(): Sink<T> & { flushed: T[] } {
  let buffer: T[] = [];
  const flushed: T[] = [];
  return {
    name: 'collect',
    flushed,
    write(value) {
      buffer.push(value);
    },
    async flush() {
      flushed.push(...buffer);
      buffer = [];
    },
  };
}
