import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { BACKLOT_PACKAGES, DirectoryNotEmptyError, generate, TEMPLATE_DIR } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('options', () => {
  it.each([
    ['My-Service', 'valid npm package name'],
    ['.hidden', 'valid npm package name'],
    ['a'.repeat(215), 'at most 214 characters'],
    ['node_modules', 'reserved'],
  ])('refuses the name %j', async (name, message) => {
    await expect(generate({ name, directory: await mkdtemp(join(tmpdir(), 'cb-')) })).rejects.toThrow(message);
  });

  it('refuses a non-empty folder unless forced', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cb-'));
    await writeFile(join(directory, 'keep.txt'), 'mine');
    const error = await generate({ name: 'svc', directory }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirectoryNotEmptyError);
    const forced = await generate({ name: 'svc', directory, force: true });
    expect(forced.files).toContain('package.json');
    expect(readFileSync(join(directory, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('fills the placeholders: name, scoped name, package versions', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cb-'));
    const result = await generate({ name: '@acme/ratings', directory: join(parent, 'ratings') });
    const manifest = JSON.parse(await readFile(join(result.directory, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@acme/ratings');
    expect(manifest.dependencies['@backlot/resilience']).toMatch(/^\^\d+\.\d+\.\d+/);
    expect(result.files).toEqual(expect.arrayContaining(['.gitignore', 'README.md', 'gateway.json', 'src/service.ts']));
    expect(result.files.some((f) => f.endsWith('.tmpl'))).toBe(false);
    expect(await readFile(join(result.directory, 'README.md'), 'utf8')).toMatch(/^# @acme\/ratings/);
  });
});

describe('the template', () => {
  const shared = join(root, 'examples/play-platform/src/http');
  it("shares the example's fastify service kernel (src/http) byte for byte (run `npm run sync-template -w create-backlot` after changing it)", () => {
    const files = readdirSync(shared).filter((file) => file.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['service.ts', 'config.ts', 'metrics.ts', 'chaos.ts', 'shutdown.ts']));
    expect(readdirSync(join(TEMPLATE_DIR, 'src/http')).sort()).toEqual(files.sort());
    for (const file of files) {
      expect(readFileSync(join(TEMPLATE_DIR, 'src/http', file), 'utf8'), file).toBe(
        readFileSync(join(shared, file), 'utf8'),
      );
    }
  });

  it('has no hand-written HTTP framework left', () => {
    expect(existsSync(join(TEMPLATE_DIR, 'src/lib/http-service.ts'))).toBe(false);
  });
});

/** npm, run with the workspace's pinned Node first on the PATH. */
function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
    },
  });
}

/**
 * `npm start` in a generated service: a bad variable is one line naming it;
 * with a good environment it serves, logs requests as pino JSON at
 * LOG_LEVEL=info, and SIGTERM drains it: the process exits 0, no orphan.
 */
async function startAndDrain(directory: string): Promise<void> {
  const env = { ...process.env, PORT: '0', GATEWAY_PORT: '0', BACKLOT_STORAGE: 'memory', NO_COLOR: '1' };
  const bad = spawnSync('npm', ['start'], { cwd: directory, env: { ...env, PORT: 'http' }, encoding: 'utf8' });
  expect(bad.status).toBe(78);
  expect(bad.stderr).toContain('CONFIG_INVALID: PORT="http" is invalid');
  expect(bad.stderr).not.toMatch(/^\s+at /m);

  const child = spawn('npm', ['start'], { cwd: directory, env: { ...env, LOG_LEVEL: 'info' } });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  await vi.waitFor(() => expect(output).toMatch(/gateway on (http:\S+)/), { timeout: 60_000, interval: 200 });
  const edge = /gateway on (http:\S+)/.exec(output)?.[1] as string;
  const service = /service on (http:\S+),/.exec(output)?.[1] as string;
  const put = await fetch(`${edge}/ratings/p1/t1`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rating: 'down' }),
  });
  expect(put.status).toBe(200);
  const requestId = put.headers.get('x-request-id');
  await vi.waitFor(() => expect(output).toContain(`"requestId":"${requestId}"`), { timeout: 10_000 });
  expect((await fetch(`${service}/ready`)).status).toBe(200);
  child.kill('SIGTERM');
  expect(await exited).toEqual([0, null]);
  await expect(fetch(`${service}/health`)).rejects.toThrow();
}

describe('a generated service, against the packed packages', () => {
  it(
    'installs from the tarballs and passes its own tests',
    async () => {
      const work = await mkdtemp(join(tmpdir(), 'create-backlot-e2e-'));
      // What `npm run scaffold -- ratings-service` does from a clone: the packages packed into vendor/.
      const { directory, files } = await generate({
        name: 'ratings-service',
        directory: join(work, 'ratings-service'),
        localPackages: root,
      });
      const manifest = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8'));
      for (const name of BACKLOT_PACKAGES) {
        expect(manifest.dependencies[`@backlot/${name}`]).toMatch(new RegExp(`^file:vendor/backlot-${name}-.+\\.tgz$`));
        expect(manifest.overrides[`@backlot/${name}`]).toBe(manifest.dependencies[`@backlot/${name}`]);
        expect(files).toContain(manifest.dependencies[`@backlot/${name}`].slice('file:'.length));
      }

      // Installs without the @backlot packages on any registry (the rest from the npm cache when there).
      npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], directory);
      expect(JSON.parse(await readFile(join(directory, 'node_modules/fastify/package.json'), 'utf8')).version).toMatch(
        /^5\./,
      );
      const output = npm(['test'], directory);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips colour codes
      expect(output.replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/Tests\s+8 passed/);
      npm(['run', 'typecheck'], directory);
      await startAndDrain(directory);
    },
    10 * 60_000,
  );
});

describe('npm run scaffold, from the repository root', () => {
  it('generates into the folder asked for, relative to where it was run, with the packed packages', async () => {
    const work = await mkdtemp(join(tmpdir(), 'create-backlot-scaffold-'));
    const output = execFileSync('npm', ['--prefix', root, 'run', 'scaffold', '--', 'svc', '--dir', 'svc'], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(output).toContain(`created ${join(work, 'svc')}`);
    const manifest = JSON.parse(await readFile(join(work, 'svc/package.json'), 'utf8'));
    for (const name of BACKLOT_PACKAGES) {
      const tarball = (manifest.dependencies[`@backlot/${name}`] as string).slice('file:'.length);
      expect(readFileSync(join(work, 'svc', tarball)).length).toBeGreaterThan(0);
    }
  }, 120_000);
});
