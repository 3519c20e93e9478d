import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyPort, freePort } from '../../../scripts/test-ports.ts';
import { tokenFor } from '../src/edge/demo-users.ts';
import { type Platform, startPlatform } from '../src/platform.ts';
import { captureOutput, run } from './support/child-output.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A stack trace's frame lines: what a CLI user must never see. */
const STACK_FRAME = /^\s+at /m;

describe('npm start from the repository root', () => {
  it('--help prints the usage and exits 0', async () => {
    const result = await run('npm', ['start', '--', '--help'], { cwd: repo });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: npm start -- [options]');
    expect(result.stdout).toContain('--memory');
  }, 240_000);

  it('an unknown flag or a bad value is one line naming the flag, exit 64', async () => {
    const unknown = await run('npm', ['start', '--', '--bogus'], { cwd: repo });
    expect(unknown.code).toBe(64);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain("'--bogus'");
    const bad = await run('npm', ['start', '--', '--port', 'eighty'], { cwd: repo });
    expect(bad.code).toBe(64);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--port must be a port number');
    const level = await run('npm', ['start', '--', '--log-level', 'loud'], { cwd: repo });
    expect(level.code).toBe(64);
    expect(level.stderr.trim().split('\n')).toHaveLength(1);
    expect(level.stderr).toContain('--log-level must be one of trace, debug, info');
    const cassandra = await run('npm', ['start', '--', '--cassandra', '127.0.0.1'], { cwd: repo });
    expect(cassandra.code).toBe(64);
    expect(cassandra.stderr).toContain('--cassandra must be host:port');
  }, 60_000);

  it('a bad service variable in the environment is one line naming it and the fix, exit 78', async () => {
    const result = await run('npm', ['start', '--', '--memory'], {
      cwd: repo,
      env: { ...process.env, CHAOS_TOKEN: 'short', DRAIN_TIMEOUT_MS: 'soon' },
    });
    expect(result.code).toBe(78);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('CONFIG_INVALID: CHAOS_TOKEN="short" is invalid');
    expect(result.stderr).toContain('DRAIN_TIMEOUT_MS="soon" is invalid: DRAIN_TIMEOUT_MS must be a number');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  }, 60_000);

  it('Cassandra: a bad variable or an unreachable node is one line naming it and the fix, exit 78', async () => {
    const bad = await run('npm', ['start', '--', '--memory', '--cassandra', '127.0.0.1:9042'], {
      cwd: repo,
      env: { ...process.env, BACKLOT_CASSANDRA_CONSISTENCY: 'most' },
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('CONFIG_INVALID: BACKLOT_CASSANDRA_CONSISTENCY="most" is invalid');

    // A port nothing listens on.
    const port = await freePort();
    const down = await run(
      'npm',
      ['start', '--', '--memory', '--port', '0', '--admin-port', '0', '--cassandra', `127.0.0.1:${port}`],
      { cwd: repo },
    );
    expect(down.code).toBe(78);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toContain(`CASSANDRA_UNREACHABLE: Cassandra at 127.0.0.1:${port} is not reachable`);
    expect(down.stderr).not.toMatch(STACK_FRAME);
  }, 120_000);

  describe('with a port taken', () => {
    let holder: Awaited<ReturnType<typeof busyPort>>;
    let busy: number;
    beforeAll(async () => {
      holder = await busyPort();
      busy = holder.port;
    });
    afterAll(() => holder.release());

    it('says which flag and what to do in one line, starts nothing, exit 1', async () => {
      const result = await run('npm', ['start', '--', '--memory', '--port', '0', '--admin-port', String(busy)], {
        cwd: repo,
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`port ${busy} (--admin-port) is already in use`);
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }, 60_000);
  });

  it('SIGTERM to npm start stops the platform, frees its ports and removes the --memory temp folder', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'play-cli-tmp-'));
    const child: ChildProcess = spawn(
      'npm',
      ['start', '--', '--memory', '--port', '0', '--admin-port', '0', '--log-level', 'info'],
      {
        cwd: repo,
        env: { ...process.env, TMPDIR: tmp },
      },
    );
    const { output, exited } = captureOutput(child);
    await expect.poll(output, { timeout: 120_000, interval: 200 }).toContain('Press Ctrl-C to stop.');
    const port = (pattern: RegExp) => Number(pattern.exec(output())?.[1]);
    const balancer = port(/load balancer\s+http:\/\/127\.0\.0\.1:(\d+)/);
    const dashboard = port(/dashboard\s+http:\/\/127\.0\.0\.1:(\d+)/);
    const gateways = [...output().matchAll(/\(pid (\d+), admin :\d+\)/g)].map((m) => Number(m[1]));
    expect(gateways).toHaveLength(2);
    expect(await accepts(balancer)).toBe(true);
    expect(await accepts(dashboard)).toBe(true);
    const eventFolders = async () => (await readdir(tmp)).filter((name) => name.startsWith('play-events-'));
    expect(await eventFolders()).toHaveLength(1); // the events' temporary folder

    // --log-level info: pino JSON lines, one request id from the gateway through the Play API to the services.
    const played = await fetch(`http://127.0.0.1:${balancer}/play`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor('p-ada')}` },
      body: JSON.stringify({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }),
    });
    expect(played.status).toBe(200);
    const requestId = played.headers.get('x-request-id');
    const logged = () =>
      output()
        .split('\n')
        .filter((line) => line.startsWith('{') && line.includes(`"requestId":"${requestId}"`))
        .map((line) => (JSON.parse(line) as { service: string }).service);
    await expect
      .poll(() => new Set(logged()))
      .toEqual(
        new Set(['play-api-v1', 'subscriber', 'catalog', 'bookmarks', 'playback-decision', 'steering', 'license']),
      );

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).toContain('stopped (');
    expect(await accepts(balancer)).toBe(false);
    expect(await accepts(dashboard)).toBe(false);
    await expect.poll(() => gateways.filter(alive), { timeout: 10_000 }).toEqual([]);
    expect(await eventFolders()).toEqual([]);
    await rm(tmp, { recursive: true, force: true });
  }, 240_000);
});

describe('npm run play', () => {
  let platform: Platform;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'play-cli-data-'));
    platform = await startPlatform({
      dataDir,
      admin: false,
      canaryPercent: 0,
      trendingWindow: { sizeMs: 1000, advanceMs: 500, allowedLatenessMs: 0 },
    });
  });
  afterAll(async () => {
    await platform?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an unknown profile is one line listing the known ones, exit 64', async () => {
    const result = await run('npm', ['run', 'play', '--', '--url', platform.url, '--profile', 'p-nobody'], {
      cwd: repo,
    });
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("no demo profile 'p-nobody' (known: p-ada, p-bo, p-kim");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  }, 60_000);

  it('--watch sends heartbeats, then stops the session: continue watching shows the position', async () => {
    const result = await run(
      'npm',
      [
        'run',
        'play',
        '--',
        '--url',
        platform.url,
        '--profile',
        'p-bo',
        '--title',
        '70264888',
        '--watch',
        '2s',
        '--heartbeat',
        '500ms',
      ],
      { cwd: repo },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/heartbeat at \d+ s → 200/g)?.length).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(/stopped at 2 s → 200/);
    const heartbeats = platform.events.filter((e) => e.name === 'playback.heartbeat' && e.payload.profileId === 'p-bo');
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    const stopped = platform.events.find((e) => e.name === 'playback.stopped' && e.payload.profileId === 'p-bo');
    expect(stopped?.payload).toMatchObject({ titleId: '70264888', positionMs: 2000 });
  }, 60_000);
});
