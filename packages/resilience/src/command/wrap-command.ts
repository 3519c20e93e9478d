import { type Command, type DefineCommandOptions, defineCommand } from './define-command.js';

/** Options of {@link wrapCommand}: those of `defineCommand` without `run`; `key` defaults to the function's name. */
export type WrapCommandOptions<Args extends unknown[], Result> = Omit<
  DefineCommandOptions<Args, Result>,
  'run' | 'key'
> & {
  /** Unique name of the command (default: the function's `name`). */
  key?: string | undefined;
};

/**
 * Makes a command of an existing async function, as opossum's
 * `new CircuitBreaker(fn)` does: the command takes `fn`'s arguments and
 * result, with no adapter lambda. `fn` does not see the execution, so a
 * timeout cannot abort it; to pass the `AbortSignal` on, use `defineCommand`
 * with `run`. Bind methods first (`wrapCommand(client.get.bind(client))`).
 *
 * @throws {TypeError} when `fn` is not a function, when it has no name and no
 * `key` is given, or on a bad option (as `defineCommand`).
 *
 * @example
 * ```ts
 * async function fetchTitle(id: string): Promise<{ id: string; name: string }> {
 *   const res = await fetch(`http://127.0.0.1:8081/titles/${id}`);
 *   return (await res.json()) as { id: string; name: string };
 * }
 * const getTitle = wrapCommand(fetchTitle, { timeoutMs: 300, fallback: (_f, id) => ({ id, name: '' }) });
 * await getTitle('80100172'); // key: 'fetchTitle'
 * ```
 */
export function wrapCommand<Args extends unknown[], Result>(
  fn: (...args: Args) => PromiseLike<Result> | Result,
  options: WrapCommandOptions<Args, Result> = {},
): Command<Args, Result> {
  if (typeof fn !== 'function') throw new TypeError('wrapCommand: the first argument must be the function to wrap');
  const key = options.key ?? fn.name;
  if (!key) {
    throw new TypeError(
      'wrapCommand: the function has no name; give the command a key, e.g. { key: "catalog.getTitle" }',
    );
  }
  return defineCommand<Args, Result>({ ...options, key, run: (_execution, ...args) => fn(...args) });
}
