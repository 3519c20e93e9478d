import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../../../../scripts/test-ports.js';

const execFileAsync = promisify(execFile);

/**
 * A private, real redis-server for one test file (Debian's `redis-server`),
 * on a free port (one the OS picks, or one of `BACKLOT_TEST_PORT_RANGE`, e.g.
 * `19500-19599`, when set), in memory only: no RDB, no AOF, a temporary dir.
 * It can be stopped, paused (SIGSTOP: accepts, never answers) and restarted
 * on the same port, for fault tests.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Starts it again on the same port after {@link PrivateRedis.stop}. */
  start(): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  stop(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Runs `redis-cli -p <port> <args>` (a client that is not ours) and returns its output. */
  cli(...args: string[]): Promise<string>;
}

function rawCommand(port: number, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer '${command}' within ${timeoutMs} ms`));
    });
    socket.once('error', reject);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply.trimEnd());
      }
    });
  });
}

/** Starts a private redis-server and waits until it answers PING. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'backlot-redis-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code} at start`))),
    );
    exited.catch(() => {});
    for (let i = 0; i < 100; i++) {
      const pong = await Promise.race([rawCommand(port, 'PING', 500).catch(() => ''), exited]);
      if (pong === '+PONG') return;
      await sleep(50);
    }
    throw new Error(`redis-server on ${port} did not answer PING`);
  };

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exit = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exit;
  };

  await start();
  process.once('exit', () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    cli: async (...args) => (await execFileAsync('redis-cli', ['-p', String(port), ...args])).stdout.trim(),
  };
}
