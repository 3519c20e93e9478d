import { currentRequestContext, type RequestContext } from './request-context.js';

/** Per-request store: namespace → key → the shared promise. */
const stores = new WeakMap<RequestContext, Map<string, Map<string, Promise<unknown>>>>();

function start<T>(execute: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(execute());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Request-scoped memoisation (Hystrix's request cache). Inside a request
 * context, the calls with the same `namespace` and `key` share one execution
 * and get the very same promise; a rejected promise is evicted, so a later
 * call in the same request tries again. Different requests never share.
 * Outside a request context it simply calls `execute()`.
 *
 * The first caller's `execute` wins: callers sharing a key must mean the same
 * operation with the same result type.
 *
 * @param namespace - what is cached, e.g. the command name.
 * @param key - which call, e.g. the title id.
 *
 * @example
 * ```ts
 * const title = await cachedInRequest('getTitle', id, () => titles.get(id));
 * ```
 */
export function cachedInRequest<T>(namespace: string, key: string, execute: () => Promise<T>): Promise<T> {
  if (typeof namespace !== 'string') throw new TypeError('cachedInRequest: namespace must be a string');
  if (typeof key !== 'string') throw new TypeError('cachedInRequest: key must be a string');
  if (typeof execute !== 'function') throw new TypeError('cachedInRequest: execute must be a function');

  const context = currentRequestContext();
  if (context === undefined) return start(execute);

  let namespaces = stores.get(context);
  if (namespaces === undefined) {
    namespaces = new Map();
    stores.set(context, namespaces);
  }
  let entries = namespaces.get(namespace);
  if (entries === undefined) {
    entries = new Map();
    namespaces.set(namespace, entries);
  }
  const cached = entries.get(key);
  if (cached !== undefined) return cached as Promise<T>;

  const promise = start(execute);
  entries.set(key, promise);
  const store = entries;
  promise.catch(() => {
    if (store.get(key) === promise) store.delete(key);
  });
  return promise;
}
