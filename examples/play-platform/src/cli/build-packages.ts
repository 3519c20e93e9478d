/**
 * `npm start`'s build step: rebuilds a workspace package only when a source
 * file is newer than its build, quietly (one line per package rebuilt; the
 * build's output only when it fails).
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The packages the example runs on, in build order (a package after those it depends on). */
export const PACKAGES = ['resilience', 'storage', 'gateway', 'events'] as const;

/** A package build failed: its output is attached. */
export class BuildFailed extends Error {
  readonly code = 'build_failed';
  readonly output: string;
  constructor(name: string, exitCode: number | null, output: string) {
    super(`building @backlot/${name} failed (exit ${exitCode}); its output is above`);
    this.name = 'BuildFailed';
    this.output = output;
  }
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function mtimes(paths: string[]): Promise<number[]> {
  const times = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        (s) => s.mtimeMs,
        () => undefined,
      ),
    ),
  );
  return times.filter((t): t is number => t !== undefined);
}

/** Why `name` needs a build (`undefined`: its build is newer than all its inputs). */
export async function staleReason(name: string): Promise<string | undefined> {
  const dir = join(root, 'packages', name);
  const outputs = await mtimes(await files(join(dir, 'dist')));
  if (outputs.length === 0) return 'not built yet';
  const inputs = await mtimes([
    ...(await files(join(dir, 'src'))),
    join(dir, 'package.json'),
    join(dir, 'tsup.config.ts'),
    join(dir, 'tsconfig.json'),
    join(root, 'tsup.config.base.ts'),
    join(root, 'tsconfig.base.json'),
  ]);
  return Math.max(...inputs) > Math.min(...outputs) ? 'sources changed' : undefined;
}

function build(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], {
      cwd: join(root, 'packages', name),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new BuildFailed(name, code, output))));
  });
}

/** Builds the packages whose sources changed since their last build; says one line per package built. */
export async function buildChangedPackages(log: (line: string) => void = console.log): Promise<string[]> {
  const built: string[] = [];
  for (const name of PACKAGES) {
    const reason = await staleReason(name);
    if (!reason) continue;
    const started = performance.now();
    log(`building @backlot/${name} (${reason})…`);
    await build(name);
    log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    built.push(name);
  }
  return built;
}
