import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const hooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/hung-command.ts', import.meta.url));

/** Runs the fixture; a child still alive after `limitMs` is killed and reported as `'hung'`. */
function run(scenario: string, limitMs = 15_000): Promise<{ code: number | 'hung'; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hooks, script, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code: hung ? 'hung' : (code ?? -1), stdout: stdout.trim(), stderr });
    });
  });
}

describe('the deadline timer keeps the process alive while calls are in flight, and only then', () => {
  it('a job whose only work is a hung command reaches its fallback instead of exiting with 13', async () => {
    const { code, stdout, stderr } = await run('fallback');
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: 'fallback:timeout', stderr: '' });
  });

  it('a hung command without a fallback rejects with TimeoutError instead of exiting with 13', async () => {
    const { code, stdout } = await run('no-fallback');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'rejected:BACKLOT_TIMEOUT' });
  });

  it('a call queued behind a hung one reaches its fallback with a queued TimeoutError', async () => {
    const { code, stdout } = await run('queued');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'fallback:timeout:true' });
  });

  it('an idle command (long deadline, no call in flight) does not keep the process alive', async () => {
    const { code, stdout } = await run('idle');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'done' });
  });
});
