import { isConflictError, isNotFoundError, isPreconditionFailedError } from '../errors.js';
import type { Item, KvUpdateOptions, Namespace } from './namespace.js';

/**
 * @internal `Namespace.update` for every backend: read, `fn(current)`,
 * put-if-version, re-run on conflicting writes up to `maxAttempts` (default 5).
 */
export async function updateWithRetries<T>(
  namespace: Pick<Namespace<T>, 'get' | 'put'>,
  id: string,
  fn: (current: T | undefined) => T | Promise<T>,
  options: KvUpdateOptions | undefined,
): Promise<Item<T>> {
  const attempts = options?.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = await namespace.get(id, options);
    const next = await fn(current?.value);
    try {
      return await namespace.put(id, next, {
        ifVersion: current ? current.version : null,
        ...(options?.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      const conflict = isPreconditionFailedError(error) || isConflictError(error) || isNotFoundError(error);
      if (!conflict || attempt >= attempts) throw error;
    }
  }
}
