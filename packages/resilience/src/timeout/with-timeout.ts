import { z } from 'zod';
import { AbortedError, TimeoutError } from '../errors.js';

/** Options of {@link withTimeout}. */
export interface WithTimeoutOptions {
  /** Time budget in milliseconds (a positive integer). */
  timeoutMs: number;
  /** The caller's signal: aborting it aborts the operation too. */
  signal?: AbortSignal | undefined;
}

const optionsSchema = z.object({
  timeoutMs: z
    .number({ error: 'timeoutMs must be a number of milliseconds, e.g. { timeoutMs: 1000 }' })
    .int('timeoutMs must be a whole number of milliseconds')
    .positive('timeoutMs must be greater than 0'),
  signal: z.instanceof(AbortSignal, { error: 'signal must be an AbortSignal' }).optional(),
});

/**
 * Runs `operation` with a time budget. The operation receives an
 * `AbortSignal` that aborts when the budget runs out or when the caller's own
 * signal aborts, so that undici/fetch calls made with it really stop.
 *
 * @throws {TimeoutError} when the budget runs out first.
 * @throws {AbortedError} when the caller's signal aborts first.
 *
 * @example
 * ```ts
 * const title = await withTimeout(
 *   (signal) => fetch('http://127.0.0.1:8080/titles/42', { signal }).then((r) => r.json()),
 *   { timeoutMs: 250 },
 * );
 * ```
 */
export async function withTimeout<T>(
  operation: (signal: AbortSignal) => PromiseLike<T> | T,
  options: WithTimeoutOptions,
): Promise<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TypeError(`withTimeout: ${z.prettifyError(parsed.error)}`);
  }
  const { timeoutMs, signal: callerSignal } = parsed.data;
  if (callerSignal?.aborted) throw new AbortedError({ cause: callerSignal.reason });

  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCallerAbort: (() => void) | undefined;

  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    if (callerSignal) {
      onCallerAbort = () => {
        const error = new AbortedError({ cause: callerSignal.reason });
        controller.abort(error);
        reject(error);
      };
      callerSignal.addEventListener('abort', onCallerAbort, { once: true });
    }
  });

  try {
    return await Promise.race([Promise.resolve().then(() => operation(controller.signal)), deadline]);
  } finally {
    clearTimeout(timer);
    if (onCallerAbort) callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}
