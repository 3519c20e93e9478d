import { z } from 'zod';
import { CollapserMetrics, type CollapserMetricsSnapshot } from '../metrics/collapser-metrics.js';
import { CommandRegistry, defaultRegistry } from '../registry/registry.js';
import { CollapserBatchMismatchError, CollapserMissingKeyError } from './errors.js';
import { currentRequestContext, type RequestContext, runOutsideRequestContext } from './request-context.js';

/** What a batch function may resolve to: results by key, or one result per key in key order. */
export type CollapserBatchResult<K, V> = ReadonlyMap<K, V | Error> | readonly (V | Error)[];

/** Options of {@link defineCollapser}. */
export interface CollapserOptions<K, V> {
  /** Names the collapser in errors. */
  name: string;
  /**
   * Loads many keys at once. Receives the window's keys, deduplicated, and
   * the request's signal (with `scope: 'request'`, inside a request context).
   * Resolve to a Map by key, or to an array with one element per key in the
   * order given; an `Error` element rejects only the callers of that key.
   */
  batch: (keys: readonly K[], signal: AbortSignal | undefined) => Promise<CollapserBatchResult<K, V>>;
  /** How long the first call of a batch waits for others, in ms (default 10). */
  windowMs?: number | undefined;
  /** A batch is sent as soon as it holds this many distinct keys (default 100). */
  maxBatchSize?: number | undefined;
  /** `'request'` (default): batches never mix request contexts. `'global'`: one batch for everyone. */
  scope?: 'request' | 'global' | undefined;
  /**
   * Identity of a key, for keys that are not primitives: calls whose keys map
   * to the same string share one entry of the batch. Default: the key itself
   * (`Map` equality).
   */
  key?: ((key: K) => string) | undefined;
  /**
   * Registry whose metrics exporters show the collapser (a `HystrixCollapser`
   * sample on the Hystrix stream); default: `defaultRegistry`. A collapser
   * defined again under the same name takes the earlier one's place.
   */
  registry?: CommandRegistry | undefined;
}

/** Loads one key through its collapser's next batch. */
export interface Collapser<K, V> {
  /** Loads `key` through the next batch. */
  (key: K): Promise<V>;
  /** The collapser's name. */
  readonly name: string;
  /** Calls, batches, duplicates and batch sizes over the rolling window. */
  metrics(): CollapserMetricsSnapshot;
  /** Removes the collapser from its registry (batches in flight still complete). */
  dispose(): void;
}

const optionsSchema = z.object({
  name: z.string({ error: 'name must be a string' }).min(1, 'name must not be empty'),
  batch: z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
    error: 'batch must be a function (keys, signal) => Promise<Map | array>',
  }),
  windowMs: z
    .number({ error: 'windowMs must be a number of milliseconds' })
    .min(0, 'windowMs must be at least 0')
    .max(2_147_483_647, 'windowMs must be at most 2147483647')
    .default(10),
  maxBatchSize: z
    .number({ error: 'maxBatchSize must be a number' })
    .int('maxBatchSize must be a whole number')
    .min(1, 'maxBatchSize must be at least 1')
    .default(100),
  scope: z.enum(['request', 'global'], { error: "scope must be 'request' or 'global'" }).default('request'),
  key: z
    .custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
      error: 'key must be a function (key) => string',
    })
    .optional(),
  registry: z.instanceof(CommandRegistry, { error: 'registry must be a CommandRegistry' }).optional(),
});

interface Caller<V> {
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

interface Entry<K, V> {
  readonly key: K;
  readonly callers: Caller<V>[];
}

interface Batch<K, V> {
  /** Identity → entry, in call order. */
  readonly entries: Map<unknown, Entry<K, V>>;
  readonly signal: AbortSignal | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Defines a request collapser (Hystrix's `HystrixCollapser`, DataLoader
 * style): single-key calls made within `windowMs` of each other, or until
 * `maxBatchSize` distinct keys, are sent as one `batch` call. Duplicate keys
 * in a window are sent once and every caller gets its own result or its own
 * error:
 *
 * | batch outcome | callers |
 * | --- | --- |
 * | a value for the key | resolve with it |
 * | an `Error` for the key | those callers reject with it |
 * | no entry for the key (Map) | reject with `CollapserMissingKeyError` |
 * | array of the wrong length, or neither Map nor array | all reject with `CollapserBatchMismatchError` |
 * | `batch` throws or rejects | all reject with that error |
 *
 * With `scope: 'request'` (the default) a batch only ever holds the keys of
 * one request context and receives that request's signal; calls outside any
 * context share a global batch.
 *
 * @throws {TypeError} on invalid options, naming the option.
 *
 * @example
 * ```ts
 * const getRating = defineCollapser({
 *   name: 'ratings',
 *   batch: async (ids: readonly string[], signal) => {
 *     const res = await fetch(`http://127.0.0.1:8082/ratings?ids=${ids.join(',')}`, { signal });
 *     const rows: { id: string; stars: number }[] = await res.json();
 *     return new Map(rows.map((row) => [row.id, row.stars]));
 *   },
 * });
 *
 * // Three calls, one HTTP request:
 * const [a, b, c] = await Promise.all([getRating('80100172'), getRating('70143836'), getRating('80100172')]);
 * ```
 */
export function defineCollapser<K, V>(options: CollapserOptions<K, V>): Collapser<K, V> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`defineCollapser: ${z.prettifyError(parsed.error)}`);
  const { name, windowMs, maxBatchSize, scope } = parsed.data;
  const batchFn = options.batch;
  const identity = options.key;
  const registry = parsed.data.registry ?? defaultRegistry;
  const metrics = new CollapserMetrics(
    name,
    { maxBatchSize, delayMs: windowMs, scope },
    performance.now.bind(performance),
  );
  const source = { metrics: () => metrics.snapshot() };

  let globalBatch: Batch<K, V> | undefined;
  const requestBatches = new WeakMap<RequestContext, Batch<K, V>>();

  const detach = (context: RequestContext | undefined, batch: Batch<K, V>): void => {
    if (context === undefined) {
      if (globalBatch === batch) globalBatch = undefined;
    } else if (requestBatches.get(context) === batch) {
      requestBatches.delete(context);
    }
  };

  const flush = (context: RequestContext | undefined, batch: Batch<K, V>): void => {
    detach(context, batch);
    if (batch.timer !== undefined) {
      clearTimeout(batch.timer);
      batch.timer = undefined;
    }
    if (context === undefined) void runOutsideRequestContext(() => dispatch(batch));
    else void dispatch(batch);
  };

  const dispatch = async (batch: Batch<K, V>): Promise<void> => {
    const entries = [...batch.entries.values()];
    metrics.batch(entries.length);
    const keys = entries.map((entry) => entry.key);
    let result: CollapserBatchResult<K, V>;
    try {
      result = await batchFn(keys, batch.signal);
    } catch (error) {
      for (const entry of entries) for (const caller of entry.callers) caller.reject(error);
      return;
    }

    if (Array.isArray(result)) {
      const values: readonly (V | Error)[] = result;
      if (values.length !== entries.length) {
        const error = new CollapserBatchMismatchError(name, entries.length, values.length);
        for (const entry of entries) for (const caller of entry.callers) caller.reject(error);
        return;
      }
      for (const [index, entry] of entries.entries()) settle(entry, values[index] as V | Error);
      return;
    }

    if (!(result instanceof Map)) {
      const error = new CollapserBatchMismatchError(name, entries.length, undefined);
      for (const entry of entries) for (const caller of entry.callers) caller.reject(error);
      return;
    }

    const byKey: ReadonlyMap<K, V | Error> = result;
    let byIdentity: Map<string, V | Error> | undefined;
    if (identity !== undefined) {
      byIdentity = new Map();
      for (const [key, value] of byKey) byIdentity.set(identity(key), value);
    }
    for (const entry of entries) {
      if (byKey.has(entry.key)) {
        settle(entry, byKey.get(entry.key) as V | Error);
      } else if (byIdentity !== undefined && identity !== undefined && byIdentity.has(identity(entry.key))) {
        settle(entry, byIdentity.get(identity(entry.key)) as V | Error);
      } else {
        const error = new CollapserMissingKeyError(name, entry.key);
        for (const caller of entry.callers) caller.reject(error);
      }
    }
  };

  const settle = (entry: Entry<K, V>, value: V | Error): void => {
    if (value instanceof Error) for (const caller of entry.callers) caller.reject(value);
    else for (const caller of entry.callers) caller.resolve(value);
  };

  const collapser = (key: K): Promise<V> => {
    let id: unknown;
    try {
      id = identity === undefined ? key : identity(key);
    } catch (error) {
      return Promise.reject(error);
    }
    const context = scope === 'request' ? currentRequestContext() : undefined;
    let batch = context === undefined ? globalBatch : requestBatches.get(context);
    if (batch === undefined) {
      const fresh: Batch<K, V> = { entries: new Map(), signal: context?.signal, timer: undefined };
      fresh.timer = setTimeout(() => {
        fresh.timer = undefined;
        flush(context, fresh);
      }, windowMs);
      if (context === undefined) globalBatch = fresh;
      else requestBatches.set(context, fresh);
      batch = fresh;
    }

    const target = batch;
    return new Promise<V>((resolve, reject) => {
      const existing = target.entries.get(id);
      metrics.call(existing !== undefined);
      if (existing !== undefined) {
        existing.callers.push({ resolve, reject });
      } else {
        target.entries.set(id, { key, callers: [{ resolve, reject }] });
        if (target.entries.size >= maxBatchSize) flush(context, target);
      }
    });
  };
  Object.defineProperties(collapser, {
    name: { value: name, enumerable: true },
    metrics: { value: source.metrics },
    dispose: { value: () => registry.unregisterCollapser(name, source) },
  });
  registry.registerCollapser(name, source);
  return collapser as Collapser<K, V>;
}
