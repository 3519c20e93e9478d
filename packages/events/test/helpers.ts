import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** How kcat reads a topic: `readCommitted` skips aborted transactions and stops at the last stable offset. */
interface KcatReadOptions {
  readCommitted?: boolean;
}

/** kcat's arguments to read every message of `topic` from the beginning, one `partition\tkey\tvalue` line each. */
const kcatRead = (brokers: string[], topic: string, options: KcatReadOptions = {}) => [
  '-C',
  '-b',
  brokers[0] as string,
  '-t',
  topic,
  '-o',
  'beginning',
  '-e',
  '-q',
  ...(options.readCommitted ? ['-X', 'isolation.level=read_committed'] : []),
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
  return readTopic(brokers, topic, { readCommitted: true }).map((record) => record.value);
}

/** Every message of `topic`, from the beginning, as kcat (a client that is not ours) reads it. */
export function readTopic(
  brokers: string[],
  topic: string,
  options: KcatReadOptions = {},
): { partition: number; key: string; value: string }[] {
  return parseKcat(
    execFileSync('kcat', kcatRead(brokers, topic, options), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }),
  );
}

/** Like {@link readTopic}, without blocking the event loop (for a broker behind a proxy that runs on it). */
export async function readTopicAsync(
  brokers: string[],
  topic: string,
  options: KcatReadOptions = {},
): Promise<{ partition: number; key: string; value: string }[]> {
  const { stdout } = await promisify(execFile)('kcat', kcatRead(brokers, topic, options), {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return parseKcat(stdout);
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The settings made on `topic` itself, as Kafka's own `kafka-configs --describe` prints them
 * (a client that is not ours), run from the Kafka install of `scripts/services/kafka.sh`.
 */
export async function topicConfigs(brokers: string[], topic: string): Promise<Record<string, string>> {
  const libs = process.env.BACKLOT_KAFKA_LIBS ?? join(repoRoot, '.services', 'kafka', 'libs');
  const { stdout } = await promisify(execFile)(
    'java',
    [
      '-cp',
      `${libs}/*`,
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      brokers[0] as string,
      '--entity-type',
      'topics',
      '--entity-name',
      topic,
      '--describe',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const configs: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^\s+([a-z0-9.]+)=(\S*) sensitive=/.exec(line);
    if (match) configs[match[1] as string] = match[2] as string;
  }
  return configs;
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
