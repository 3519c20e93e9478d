import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who wrote a temporary or lock file: this host, a process id, and that
 * process's start time, so that a process id reused by a later process is not
 * mistaken for the writer. Carried in temp file names:
 * `<host>-<pid>-<start>.<random>`.
 */
export interface Owner {
  /** 8 hex digits of SHA-256 of the host name. */
  host: string;
  pid: number;
  /** `t<clock ticks since boot>` from `/proc` on Linux, else `m<ms since epoch>`. */
  start: string;
}

/** The start time of process `pid` in clock ticks since boot (Linux `/proc`), or undefined. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces and parentheses: field 22 is the start time.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? `t${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** This process. */
export const self: Owner = {
  host: hostTag,
  pid: process.pid,
  start: procStart(process.pid) ?? `m${Math.round(performance.timeOrigin)}`,
};

const prefix = `${self.host}-${self.pid}-${self.start}.`;

/** A fresh temporary file name owned by this process. */
export function ownedName(): string {
  return prefix + randomBytes(12).toString('hex');
}

/** The owner a temp file name carries, or undefined (a name of another scheme). */
export function ownerOf(name: string): Owner | undefined {
  const match = /^([0-9a-f]{8})-(\d+)-([tm]\d+)\./.exec(name);
  if (!match) return undefined;
  return { host: match[1] as string, pid: Number(match[2]), start: match[3] as string };
}

/** True when process `pid` exists (possibly as another user's). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `'dead'` when `owner` ran on this host and is gone (its pid is free, or now
 * names a process started at another time), `'alive'` when it may still run,
 * `'unknown'` for another host's.
 */
export function ownerState(owner: Owner): 'alive' | 'dead' | 'unknown' {
  if (owner.host !== self.host) return 'unknown';
  if (!isRunning(owner.pid)) return 'dead';
  if (owner.start.startsWith('t')) {
    const now = procStart(owner.pid);
    if (now !== undefined && now !== owner.start) return 'dead';
  }
  return 'alive';
}
