import { BackendError, isStorageError } from '../../errors.js';

/** errno codes after which the same call may succeed later. */
const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EIO']);

/**
 * Maps an error of `node:fs` to the package's typed errors: a `BackendError`
 * naming the errno code (`status`), the key and the root, with the original as
 * `cause`. Typed errors pass through; an aborted call rejects with the signal's reason.
 */
export function mapFsError(error: unknown, context: { key: string; root: string; signal?: AbortSignal | undefined }) {
  if (context.signal?.aborted) return context.signal.reason;
  if (isStorageError(error)) return error;
  if ((error as { name?: string } | undefined)?.name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'Error';
  const hint =
    code === 'ENOTDIR' || code === 'EEXIST'
      ? ` (is the root '${context.root}' or a folder under it a regular file? the root must be a folder)`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? ` (the process cannot write under the root '${context.root}': check its permissions)`
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? ` (the disk or quota holding '${context.root}' is full)`
          : '';
  return new BackendError(
    `filesystem ${code} on key '${context.key}': ${(error as Error | undefined)?.message ?? String(error)}${hint}`,
    { cause: error, retryable: TRANSIENT.has(code), status: code },
  );
}
