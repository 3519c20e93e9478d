import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { Sink } from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';

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

/** A connected kafkajs admin of the test broker at `brokers`; fails saying so when the broker is not reachable. */
export async function connectAdmin(brokers: string[]): Promise<Admin> {
  // The tests' own kafkajs clients get the fix kafkaTransport applies to its own (tulios/kafkajs#1751),
  // or Node warns of a negative timeout when a test admin connects before any transport exists.
  fixKafkajsRequestQueue();
  const admin = new Kafka({ clientId: 'backlot-events-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka broker not reachable at ${brokers.join(',')}: ${String(error)}`, { cause: error });
  });
  return admin;
}

/** kcat's arguments to read every message of `topic` from the beginning, one `partition\tkey\tvalue` line each. */
const kcatRead = (brokers: string[], topic: string) => [
  '-C',
  '-b',
  brokers[0] as string,
  '-t',
  topic,
  '-o',
  'beginning',
  '-e',
  '-q',
  '-f',
  '%p\t%k\t%s\n',
];

function parseKcat(out: string): { partition: number; key: string; value: string }[] {
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [partition, key, value] = line.split('\t') as [string, string, string];
      return { partition: Number(partition), key, value };
    });
}

/** The values of `topic` from the beginning, as a read_committed client that is not ours (kcat) reads them. */
export function readCommittedValues(brokers: string[], topic: string): string[] {
  return execFileSync(
    'kcat',
    [
      '-C',
      '-b',
      brokers[0] as string,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      'isolation.level=read_committed',
      '-f',
      '%s\n',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
    .split('\n')
    .filter(Boolean);
}

/** Every message of `topic`, from the beginning, as kcat (a client that is not ours) reads it. */
export function readTopic(brokers: string[], topic: string): { partition: number; key: string; value: string }[] {
  return parseKcat(execFileSync('kcat', kcatRead(brokers, topic), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }));
}

/** Like {@link readTopic}, without blocking the event loop (for a broker behind a proxy that runs on it). */
export async function readTopicAsync(
  brokers: string[],
  topic: string,
): Promise<{ partition: number; key: string; value: string }[]> {
  const { stdout } = await promisify(execFile)('kcat', kcatRead(brokers, topic), {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return parseKcat(stdout);
}

/** What `fn` throws (undefined when it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
