import { z } from 'zod';
import type { ObjectStore } from '../core/types.js';
import { createNamespace, type Namespace } from './namespace.js';

/** Options of {@link createKeyValueStore}. */
export interface KeyValueStoreOptions {
  /** The object store that holds the records (any adapter). */
  store: ObjectStore;
  /** Key prefix of every namespace (default `kv/`). */
  prefix?: string | undefined;
}

/** Typed namespaces of records over an {@link ObjectStore}. */
export interface KeyValueStore {
  /** The namespace `name`, whose records `schema` validates on every read and write. */
  namespace<T>(name: string, schema: z.ZodType<T>): Namespace<T>;
}

const optionsSchema = z.object({
  store: z.custom<ObjectStore>(
    (value) => typeof (value as ObjectStore | undefined)?.put === 'function',
    'store is required: an ObjectStore such as createMemoryStore()',
  ),
  prefix: z.string({ error: "prefix must be a string such as 'kv/'" }).optional(),
});

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * A key-value layer for service data (profiles, bookmarks, licences): records
 * in namespaces, each validated by its zod schema on write and on read, with a
 * version per record and put-if-version built on the store's conditional writes.
 *
 * @example
 * ```ts
 * const kv = createKeyValueStore({ store });
 * const profiles = kv.namespace('profiles', z.object({ name: z.string(), maturity: z.number() }));
 * const saved = await profiles.put('p-1', { name: 'Ada', maturity: 16 }, { ifVersion: null });
 * await profiles.put('p-1', { name: 'Ada', maturity: 18 }, { ifVersion: saved.version });
 * ```
 */
export function createKeyValueStore(options: KeyValueStoreOptions): KeyValueStore {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`createKeyValueStore: ${z.prettifyError(parsed.error)}`);
  const prefix = options.prefix ?? 'kv/';
  return {
    namespace<T>(name: string, schema: z.ZodType<T>): Namespace<T> {
      if (!NAME.test(name)) {
        throw new TypeError(
          `namespace: name '${name}' must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit`,
        );
      }
      if (typeof (schema as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
        throw new TypeError(`namespace '${name}': schema must be a zod schema, e.g. z.object({ … })`);
      }
      return createNamespace(options.store, prefix, schema, name);
    },
  };
}
