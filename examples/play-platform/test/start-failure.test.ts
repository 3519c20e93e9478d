import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import { busyPort } from '../../../scripts/test-ports.ts';
import type { PlatformOptions } from '../src/platform.ts';
import { captureOutput } from './support/child-output.ts';

const fixture = fileURLToPath(new URL('./fixtures/start-fails.ts', import.meta.url));
const tsHooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
const { kafkaBrokers, s3 } = serviceEnv();
const cassandraOff = process.env.BACKLOT_CASSANDRA === 'off';
const cassandraPoints = (
  process.env.BACKLOT_CASSANDRA_CONTACT_POINTS ?? `127.0.0.1:${process.env.BACKLOT_CASSANDRA_PORT ?? '9042'}`
).split(',');

/**
 * What was still open when the start failed, less timers: a closed producer's
 * last timer (at most about a second) may still be pending then; that it ends
 * is shown by the process exiting on its own.
 */
const sockets = (open: string[] | undefined) => (open ?? ['no report']).filter((name) => name !== 'Timeout');

/** A deadline on the child's exit: a handle left open keeps it alive, and it is then killed. */
const EXIT_DEADLINE_MS = 60_000;

/**
 * Runs the fixture in its own process: the start must fail, leave nothing
 * open (no socket, server or timer keeping the loop alive) and let the
 * process exit by itself.
 */
async function failedStart(entry: 'core' | 'platform', options: PlatformOptions) {
  const child = spawn(process.execPath, ['--import', tsHooks, fixture, entry, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { stdout, output, exited } = captureOutput(child);
  const killer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  const code = await exited;
  clearTimeout(killer);
  const report = JSON.parse(stdout().trim().split('\n').at(-1) ?? '{}') as {
    started: boolean;
    code?: string;
    message?: string;
    open?: string[];
  };
  return { exitCode: code, signal: child.signalCode, report, output: output() };
}

describe('a start step that fails releases what the earlier ones opened', () => {
  let holder: Awaited<ReturnType<typeof busyPort>>;
  beforeAll(async () => {
    holder = await busyPort();
  });
  afterAll(() => holder.release());

  it('real mode, the admin port taken: Cassandra, producers, processor and services are closed; the process exits', async () => {
    const options: PlatformOptions = {
      topic: `play-start-fails-${randomUUID().slice(0, 8)}`,
      kafkaBrokers,
      s3: {
        endpoint: s3.endpoint,
        bucket: `play-start-fails-${randomUUID().slice(0, 8)}`,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      ...(cassandraOff
        ? {}
        : { cassandra: { contactPoints: cassandraPoints, keyspace: `play_fail_${randomUUID().slice(0, 8)}` } }),
      admin: { port: holder.port },
    };
    const { exitCode, signal, report, output } = await failedStart('core', options);
    expect(signal, `killed at the deadline: something stayed open\n${output}`).toBeNull();
    expect(exitCode, output).toBe(0);
    expect(report).toMatchObject({ started: false, code: 'EADDRINUSE' });
    expect(sockets(report.open)).toEqual([]);
  }, 120_000);

  it('embedded mode, the gateway port taken: the core is closed too; the process exits', async () => {
    const { exitCode, signal, report, output } = await failedStart('platform', { port: holder.port, admin: false });
    expect(signal, `killed at the deadline: something stayed open\n${output}`).toBeNull();
    expect(exitCode, output).toBe(0);
    expect(report).toMatchObject({ started: false });
    expect(sockets(report.open)).toEqual([]);
    expect(report.message).toMatch(/EADDRINUSE|in use/);
  }, 120_000);
});
