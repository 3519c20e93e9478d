import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
  it("shares the example's service helper byte for byte (run `npm run sync-template -w create-backlot` after changing it)", () => {
    expect(readFileSync(join(TEMPLATE_DIR, 'src/lib/http-service.ts'), 'utf8')).toBe(
      readFileSync(join(root, 'examples/play-platform/src/lib/http-service.ts'), 'utf8'),
    );
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
      const output = npm(['test'], directory);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips colour codes
      expect(output.replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/Tests\s+4 passed/);
      npm(['run', 'typecheck'], directory);
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
