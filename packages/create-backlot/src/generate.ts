import { cp, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { useLocalPackages } from './local-packages.js';
import { type CreateOptions, createOptionsSchema } from './options.js';

/** What {@link generate} wrote. */
export interface GenerateResult {
  /** Absolute path of the generated service. */
  directory: string;
  /** Files written, relative to `directory`. */
  files: string[];
  /** Commands to run next. */
  nextSteps: string[];
}

/** Thrown when the target folder exists and is not empty (and `force` is not set). */
export class DirectoryNotEmptyError extends Error {
  readonly code = 'BACKLOT_CREATE_DIRECTORY_NOT_EMPTY';
  readonly directory: string;
  constructor(directory: string) {
    super(`${directory} is not empty; choose another folder, or pass --force to write into it anyway`);
    this.name = 'DirectoryNotEmptyError';
    this.directory = directory;
  }
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
/** The template shipped with the package (files ending in `.tmpl` have placeholders). */
export const TEMPLATE_DIR = join(packageRoot, 'template');

async function isEmpty(directory: string): Promise<boolean> {
  try {
    return (await readdir(directory)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

async function listFiles(directory: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(directory, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(directory, path)));
    else files.push(path);
  }
  return files.sort();
}

/** The `@backlot/*` version ranges this release of create-backlot generates for. */
export async function backlotVersions(): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  return Object.fromEntries(
    Object.entries(manifest.devDependencies ?? {}).filter(([name]) => name.startsWith('@backlot/')),
  );
}

/**
 * Generates a new Backlot service from the template: a README, a gateway
 * route, one command with a fallback, one event, storage through the adapter
 * interface, and its own tests.
 *
 * @throws {TypeError} naming a bad option.
 * @throws {DirectoryNotEmptyError} when the folder has files and `force` is not set.
 */
export async function generate(options: CreateOptions): Promise<GenerateResult> {
  const parsed = createOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(z.prettifyError(parsed.error));
  const { name, force = false, packageManager = 'npm' } = parsed.data;
  const shortName = name.includes('/') ? (name.split('/')[1] as string) : name;
  const directory = resolve(parsed.data.directory ?? shortName);
  if (!force && !(await isEmpty(directory))) throw new DirectoryNotEmptyError(directory);

  await mkdir(directory, { recursive: true });
  await cp(TEMPLATE_DIR, directory, { recursive: true });

  const versions = await backlotVersions();
  const replacements: Record<string, string> = {
    '{{name}}': name,
    '{{shortName}}': shortName,
    ...Object.fromEntries(Object.entries(versions).map(([pkg, range]) => [`{{version:${pkg}}}`, range])),
  };
  const written: string[] = [];
  for (const file of await listFiles(directory)) {
    if (!file.endsWith('.tmpl')) {
      written.push(file);
      continue;
    }
    const path = join(directory, file);
    let text = await readFile(path, 'utf8');
    for (const [token, value] of Object.entries(replacements)) text = text.split(token).join(value);
    const unresolved = text.match(/\{\{[^}]+\}\}/);
    if (unresolved) throw new Error(`template ${file}: unknown placeholder ${unresolved[0]}`);
    const target = path.slice(0, -'.tmpl'.length);
    await writeFile(path, text);
    await rename(path, target);
    written.push(file.slice(0, -'.tmpl'.length));
  }
  // npm renames .gitignore in published packages: the template ships it as `gitignore`.
  if ((await stat(join(directory, 'gitignore')).catch(() => undefined))?.isFile()) {
    await rename(join(directory, 'gitignore'), join(directory, '.gitignore'));
    written[written.indexOf('gitignore')] = '.gitignore';
  }
  if (parsed.data.localPackages) {
    for (const tarball of await useLocalPackages(directory, parsed.data.localPackages))
      written.push(`vendor/${tarball}`);
  }
  const run = packageManager === 'npm' ? 'npm run' : packageManager;
  return {
    directory,
    files: written.sort(),
    nextSteps: [
      `cd ${relative(process.cwd(), directory) || '.'}`,
      `${packageManager} install`,
      `${run} test`,
      `${run} start`,
    ],
  };
}
