import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { captureOutput } from '../support/child-output.ts';

const fixture = fileURLToPath(new URL('./fixtures/drain-service.ts', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function startFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: 'pipe',
  });
  children.push(child);
  const { stdout, stderr, exited } = captureOutput(child);
  return {
    child,
    exited,
    stdout,
    stderr,
    url: async () => {
      await expect.poll(() => /^listening (\S+)$/m.exec(stdout())?.[1], { timeout: 20_000 }).toBeTruthy();
      return /^listening (\S+)$/m.exec(stdout())?.[1] as string;
    },
  };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('a service process on SIGTERM', () => {
  it('finishes the in-flight request, refuses new connections, exits 0', async () => {
    const service = startFixture({});
    const url = await service.url();
    const inFlight = request(`${url}/held`, { headers: { 'x-request-id': 'held-1' } });
    await expect.poll(service.stdout).toContain('entered');

    service.child.kill('SIGTERM');
    // The listener closes while the request is still being served.
    await expect
      .poll(async () => {
        try {
          await (await request(`${url}/health`)).body.dump();
          return 'accepted';
        } catch (error) {
          return (error as NodeJS.ErrnoException).code;
        }
      })
      .toBe('ECONNREFUSED');
    service.child.stdin.write('release\n');
    const answer = await inFlight;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toEqual({ done: true });
    expect(await service.exited).toBe(0);
    expect(service.stdout()).toContain('drained');

    // pino JSON request logs, carrying the request id.
    const logs = jsonLines(service.stdout());
    expect(logs).toContainEqual(
      expect.objectContaining({ service: 'drain-fixture', requestId: 'held-1', msg: 'request completed' }),
    );
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'draining', signal: 'SIGTERM' }));
  }, 60_000);

  it('is quiet at the default log level', async () => {
    const service = startFixture({ LOG_LEVEL: '' });
    const url = await service.url();
    await (await request(`${url}/health`)).body.dump();
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(jsonLines(service.stdout())).toEqual([]);
  }, 60_000);

  it('refuses to start on a bad environment, naming the variable and the fix', async () => {
    const service = startFixture({ PORT: 'eighty', CHAOS_TOKEN: 'short' });
    expect(await service.exited).toBe(78);
    expect(service.stderr()).toContain('CONFIG_INVALID');
    expect(service.stderr()).toContain('PORT="eighty" is invalid: PORT must be a number; set it to a port number');
    expect(service.stderr()).toContain('CHAOS_TOKEN="short" is invalid');
  }, 60_000);
});
