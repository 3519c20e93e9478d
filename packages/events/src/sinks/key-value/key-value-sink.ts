import { z } from 'zod';
import { optionsError } from '../../util/logger.js';
import type { Sink } from '../types.js';

/** Anything with `put(id, value)`: a `@backlot/storage` key-value namespace, a Map wrapper, a database table. */
export interface KeyValueTarget<V> {
  put(id: string, value: V): Promise<unknown>;
}

/** Options of {@link keyValueSink}. */
export interface KeyValueSinkOptions<T, V> {
  /** Where values go, e.g. `createKeyValueStore({ store }).namespace('continue-watching', schema)` (required). */
  target: KeyValueTarget<V>;
  /** The record's id in the target (required). */
  key: (value: T) => string;
  /** The value stored for a record (default: the record itself). */
  value?: ((value: T) => V) | undefined;
  /** Writes in parallel during a flush (default 8). */
  concurrency?: number | undefined;
}

const optionsSchema = z.object({
  target: z.custom<KeyValueTarget<unknown>>(
    (value) => typeof (value as { put?: unknown } | undefined)?.put === 'function',
    'target is required: something with put(id, value), e.g. a @backlot/storage key-value namespace',
  ),
  key: z.custom<(value: unknown) => string>(
    (v) => typeof v === 'function',
    'key is required: a function (record) => id',
  ),
  value: z.custom<(value: unknown) => unknown>((v) => typeof v === 'function', 'value must be a function').optional(),
  concurrency: z.number().int().positive('concurrency must be a positive integer').optional(),
});

/**
 * A sink that keeps the latest value per key in a key-value store (e.g. each
 * profile's continue-watching list). Writes are coalesced per key between flushes.
 *
 * @example
 * ```ts
 * const lists = createKeyValueStore({ store }).namespace('continue-watching', z.array(z.string()));
 * stream.to(keyValueSink({ target: lists, key: (w) => w.key, value: (w) => w.value }));
 * ```
 */
export function keyValueSink<T, V = T>(options: KeyValueSinkOptions<T, V>): Sink<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('keyValueSink', parsed.error);
  const latest = new Map<string, V>();
  const toValue = options.value ?? ((value: T) => value as unknown as V);
  const concurrency = options.concurrency ?? 8;
  return {
    name: 'key-value',
    write(value) {
      latest.set(options.key(value), toValue(value));
    },
    async flush() {
      const entries = [...latest];
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const [id, value] = entries[next++] as [string, V];
          await options.target.put(id, value);
          if (latest.get(id) === value) latest.delete(id);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    },
  };
}
