import { createRequire } from 'node:module';
import { MissingPeerError } from '../errors.js';

// `require` of this module's location, in both builds: CommonJS has `__filename`; ESM has
// `import.meta.url` (a bare `require` would be the bundler's shim, which throws in ESM).
const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/** Resolution failures that mean "not installed" (not an error thrown while the package loads). */
function notInstalled(error: unknown, id: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(id)
  );
}

/**
 * Loads an optional peer dependency (CommonJS `require`, from this package's
 * location: the very module instance the application's own import gets).
 * @throws {MissingPeerError} naming `packages` when `id` is not installed; a
 * package that is installed but fails to load throws its own error.
 * @internal
 */
export function requirePeer<T>(id: string, feature: string, packages: readonly string[] = [id]): T {
  try {
    return load(id) as T;
  } catch (error) {
    if (notInstalled(error, id)) throw new MissingPeerError(feature, packages, { cause: error });
    throw error;
  }
}

/**
 * Imports an optional peer dependency (`import()`, for ES module packages).
 * @throws {MissingPeerError} naming `id` when it is not installed.
 * @internal
 */
export async function importPeer<T>(id: string, feature: string, imported: () => Promise<T>): Promise<T> {
  try {
    return await imported();
  } catch (error) {
    if (notInstalled(error, id)) throw new MissingPeerError(feature, [id], { cause: error });
    throw error;
  }
}
