import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The scope of one incoming request (Hystrix's `HystrixRequestContext`): what
 * runs inside {@link runInRequestContext}, across every `await`, sees it.
 * The request cache and request-scoped collapsers keep their per-request
 * state on it, so that state never leaks from one request to another.
 */
export interface RequestContext {
  /** The request's signal, e.g. aborted when the client goes away; `undefined` when none was given. */
  readonly signal: AbortSignal | undefined;
}

/** Options of {@link runInRequestContext}. */
export interface RequestContextOptions {
  /** The request's signal, handed to request-scoped batches. */
  signal?: AbortSignal | undefined;
}

class Context implements RequestContext {
  readonly signal: AbortSignal | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.signal = signal;
  }
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs `fn` in a new request context and returns what it returns (a promise
 * stays a promise). Everything `fn` starts, synchronously or after any
 * number of `await`s, sees the context through {@link currentRequestContext}.
 * A nested call starts a fresh context: nothing is shared with the outer one.
 *
 * @throws {TypeError} when `options.signal` is not an `AbortSignal`.
 *
 * @example
 * ```ts
 * server.on('request', (req, res) => {
 *   const controller = new AbortController();
 *   res.on('close', () => controller.abort());
 *   runInRequestContext(() => handlePlay(req, res), { signal: controller.signal });
 * });
 * ```
 */
export function runInRequestContext<T>(fn: () => T, options?: RequestContextOptions): T {
  if (typeof fn !== 'function') throw new TypeError('runInRequestContext: fn must be a function');
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('runInRequestContext: signal must be an AbortSignal');
  }
  return storage.run(new Context(signal), fn);
}

/** The request context the caller runs in, or `undefined` outside any {@link runInRequestContext}. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` outside any request context (used for global batches, which
 * serve many requests and must not run in the context of the first).
 *
 * @internal not exported from the package.
 */
export function runOutsideRequestContext<T>(fn: () => T): T {
  return storage.exit(fn);
}
