import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The Backlot packages a generated service depends on, in build order
 * (`metrics-core`, the kernel the others share, is vendored too so that
 * theirs resolves to the local one).
 */
export const BACKLOT_PACKAGES = ['metrics-core', 'resilience', 'storage', 'events', 'gateway'] as const;

/** `localPackages` does not point at a Backlot clone, or packing failed. */
export class LocalPackagesError extends Error {
  readonly code = 'BACKLOT_CREATE_LOCAL_PACKAGES';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalPackagesError';
  }
}

const npm = async (args: string[], cwd: string) => {
  try {
    return (await run('npm', args, { cwd, encoding: 'utf8', timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new LocalPackagesError(
      `npm ${args.join(' ')} failed in ${cwd}: ${(stderr || stdout || String(error)).trim()}`,
      {
        cause: error,
      },
    );
  }
};

/**
 * Points a generated service at the packages of a Backlot clone instead of
 * the registry (before the first release, or to try unreleased changes):
 * builds the packages that were never built, packs each into the service's
 * `vendor/` folder, and makes its `package.json` depend on those tarballs
 * (`overrides` too, so `@backlot/events`' own dependency on storage uses the
 * local one). The service then installs like any project, without the
 * `@backlot/*` packages on the registry. Returns the tarballs' file names.
 */
export async function useLocalPackages(directory: string, repository: string): Promise<string[]> {
  const root = resolve(repository);
  const missing = BACKLOT_PACKAGES.filter((name) => !existsSync(join(root, 'packages', name, 'package.json')));
  if (missing.length > 0) {
    throw new LocalPackagesError(
      `${root} is not a Backlot clone (no packages/${missing[0]}): pass the clone's root folder`,
    );
  }
  const vendor = join(directory, 'vendor');
  await mkdir(vendor, { recursive: true });
  const local: Record<string, string> = {};
  for (const name of BACKLOT_PACKAGES) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'dist', 'index.js'))) await npm(['run', 'build', '--silent'], dir);
    const before = new Set(await readdir(vendor));
    await npm(['pack', '--silent', '--pack-destination', vendor], dir);
    const tarball = (await readdir(vendor)).find((file) => !before.has(file) && file.startsWith(`backlot-${name}-`));
    if (!tarball) throw new LocalPackagesError(`npm pack wrote no tarball for @backlot/${name}`);
    local[`@backlot/${name}`] = `file:vendor/${tarball}`;
  }
  const manifestPath = join(directory, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
    dependencies?: Record<string, string>;
    overrides?: Record<string, string>;
  };
  manifest.dependencies = { ...manifest.dependencies, ...local };
  manifest.overrides = { ...manifest.overrides, ...local };
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return Object.values(local).map((spec) => spec.slice('file:vendor/'.length));
}
