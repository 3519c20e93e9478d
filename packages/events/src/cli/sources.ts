import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { CatalogSchemas } from '../catalog/snapshot.js';
import { InputError } from './args.js';

const run = promisify(execFile);

const isCatalog = (value: unknown): value is CatalogSchemas =>
  typeof value === 'object' &&
  value !== null &&
  Array.isArray((value as CatalogSchemas).names) &&
  typeof (value as CatalogSchemas).jsonSchemas === 'function' &&
  typeof (value as CatalogSchemas).versions === 'function';

/**
 * Imports `<module>[#export]` (relative to `cwd`) and returns the catalogue it exports.
 * @throws {InputError} naming `--catalog` when the module or the export is missing.
 * @internal
 */
export async function loadCatalog(spec: string, cwd: string, timeoutMs: number): Promise<CatalogSchemas> {
  const [path, name] = spec.split('#') as [string, string | undefined];
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new InputError(`--catalog: ${file} does not exist (build it first?)`);
  let timer: NodeJS.Timeout | undefined;
  let module: Record<string, unknown>;
  try {
    module = await Promise.race([
      import(pathToFileURL(file).href) as Promise<Record<string, unknown>>,
      new Promise<never>((_, reject) => {
        // Not unref'd: a module whose import never settles must end in this error, not in a silent exit.
        timer = setTimeout(
          () => reject(new Error(`importing it took longer than ${timeoutMs} ms (--timeout)`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    throw new InputError(`--catalog: cannot import ${file}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (name !== undefined) {
    if (!isCatalog(module[name])) {
      throw new InputError(
        `--catalog: ${path} has no catalogue export '${name}' (exports: ${Object.keys(module).join(', ') || 'none'})`,
      );
    }
    return module[name];
  }
  if (isCatalog(module.default)) return module.default;
  const catalogs = Object.entries(module).filter(([, value]) => isCatalog(value));
  if (catalogs.length !== 1) {
    throw new InputError(
      `--catalog: ${path} exports ${catalogs.length === 0 ? 'no catalogue' : `several catalogues (${catalogs.map(([k]) => k).join(', ')})`}: name one, e.g. --catalog ${path}#events`,
    );
  }
  return (catalogs[0] as [string, CatalogSchemas])[1];
}

/**
 * The text of a previous snapshot: `against` as a file if one exists, else
 * `git show <against>:./<snapshot>` (or `git show <against>` when it already
 * names `<ref>:<path>`), run in `cwd` with a deadline.
 * @throws {InputError} naming `--against`.
 * @internal
 */
export async function readPrevious(
  against: string,
  snapshot: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ text: string; source: string }> {
  const file = resolve(cwd, against);
  if (existsSync(file)) return { text: readFileSync(file, 'utf8'), source: against };
  const object = against.includes(':') ? against : `${against}:./${snapshot}`;
  try {
    const { stdout } = await run('git', ['show', object], {
      cwd,
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { text: stdout, source: object };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new InputError(
      `--against: '${against}' is not a file, and git show ${object} failed: ${stderr || (error as Error).message}`,
    );
  }
}
