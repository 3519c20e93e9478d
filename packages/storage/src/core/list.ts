import { z } from 'zod';
import { compareKeys } from './keys.js';
import { throwIfAborted } from './signal.js';
import type { ListEntry, ListedObject, ListOptions, ListPage, ListPageOptions } from './types.js';

/** Largest page a listing returns, as on S3. */
export const MAX_PAGE_SIZE = 1000;

const listOptionsSchema = z.object({
  prefix: z.string({ error: 'prefix must be a string' }).optional(),
  delimiter: z.string({ error: 'delimiter must be a string' }).min(1, 'delimiter must not be empty').optional(),
  startAfter: z.string({ error: 'startAfter must be a string' }).optional(),
  pageSize: z
    .number({ error: 'pageSize must be a number' })
    .int('pageSize must be an integer')
    .min(1, 'pageSize must be at least 1')
    .max(MAX_PAGE_SIZE, `pageSize must be at most ${MAX_PAGE_SIZE}`)
    .optional(),
  cursor: z.string({ error: 'cursor must be the string a previous page returned' }).optional(),
});

/** Validates listing options at the boundary. @throws {TypeError} naming the field. */
export function parseListOptions(options: ListPageOptions | undefined): ListPageOptions {
  const { signal, ...rest } = options ?? {};
  const parsed = listOptionsSchema.safeParse(rest);
  if (!parsed.success) throw new TypeError(`list: ${z.prettifyError(parsed.error)}`);
  return options ?? {};
}

/**
 * Iterates every page of a listing, yielding objects and common prefixes in
 * key order, one page in memory at a time.
 */
export async function* listAll(
  listPage: (options: ListPageOptions) => Promise<ListPage>,
  options: ListOptions | undefined,
): AsyncGenerator<ListEntry, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await listPage({ ...options, ...(cursor ? { cursor } : {}) });
    const entries: ListEntry[] = [
      ...page.objects.map((object): ListEntry => ({ type: 'object', ...object })),
      ...page.prefixes.map((prefix): ListEntry => ({ type: 'prefix', prefix })),
    ];
    entries.sort((a, b) => compareKeys(a.type === 'object' ? a.key : a.prefix, b.type === 'object' ? b.key : b.prefix));
    yield* entries;
    cursor = page.cursor;
  } while (cursor);
}

interface CursorState {
  /** Last key or common prefix returned. */
  after: string;
  /** True when `after` is a common prefix: every key starting with it is done. */
  skip: boolean;
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify([state.after, state.skip ? 1 : 0]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorState {
  try {
    const [after, skip] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof after === 'string') return { after, skip: skip === 1 };
  } catch {
    // fall through
  }
  throw new TypeError('list: cursor is not one this store returned; pass the `cursor` of the previous page');
}

/** Where a sorted key source starts: after `after`, skipping keys that start with `skipPrefix`. */
export interface KeySourceStart {
  /** Yield only keys strictly after this one. */
  after?: string | undefined;
  /** Skip keys starting with this (a common prefix already returned). */
  skipPrefix?: string | undefined;
  /** Only keys starting with this. */
  prefix: string;
}

/**
 * Builds one S3-style listing page over a source of keys in byte order: used
 * by the memory and filesystem adapters so their listings match S3's.
 */
export async function buildPage(
  options: ListPageOptions,
  keys: (start: KeySourceStart) => AsyncIterable<string>,
  describe: (key: string) => Promise<ListedObject | undefined>,
): Promise<ListPage> {
  const { prefix = '', delimiter, startAfter, pageSize = MAX_PAGE_SIZE, signal } = options;
  const state: CursorState | undefined = options.cursor
    ? decodeCursor(options.cursor)
    : startAfter
      ? { after: startAfter, skip: false }
      : undefined;

  const objects: ListedObject[] = [];
  const prefixes: string[] = [];
  let last: CursorState | undefined;
  let skipPrefix = state?.skip ? state.after : undefined;
  let count = 0;

  for await (const key of keys({ after: state?.after, skipPrefix, prefix })) {
    throwIfAborted(signal);
    if (!key.startsWith(prefix)) continue;
    if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
    if (count === pageSize) return { objects, prefixes, ...(last ? { cursor: encodeCursor(last) } : {}) };
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const common = key.slice(0, at + delimiter.length);
        prefixes.push(common);
        skipPrefix = common;
        last = { after: common, skip: true };
        count++;
        continue;
      }
    }
    const object = await describe(key);
    if (!object) continue; // deleted while listing
    objects.push(object);
    last = { after: key, skip: false };
    count++;
  }
  return { objects, prefixes };
}
