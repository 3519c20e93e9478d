import { expect, it } from 'vitest';
import { isInvalidKeyError, isNotFoundError, isStorageError, type NotFoundError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { rejection } from '../helpers.js';

/** put/get/head/delete, metadata, keys, typed errors, abort signals. */
export function coreCases(ctx: SuiteContext): void {
  it('round-trips a string body with content type and metadata', async () => {
    const store = await ctx.store();
    const written = await store.put('titles/80100172.json', '{"title":"Stranger Things"}', {
      contentType: 'application/json',
      metadata: { Origin: 'catalog', 'x-team': 'encoding' },
    });
    expect(written.size).toBe(27);
    expect(written.etag).toMatch(/^".+"$/);
    expect(written.metadata).toEqual({ origin: 'catalog', 'x-team': 'encoding' });

    const read = await store.get('titles/80100172.json');
    expect(read.body.toString('utf8')).toBe('{"title":"Stranger Things"}');
    expect(read.size).toBe(27);
    expect(read.etag).toBe(written.etag);
    expect(read.contentType).toBe('application/json');
    expect(read.metadata).toEqual({ origin: 'catalog', 'x-team': 'encoding' });
    expect(read.range).toBeUndefined();
  });

  it('round-trips binary bytes exactly, including an empty body', async () => {
    const store = await ctx.store();
    const bytes = new Uint8Array(256).map((_, i) => i);
    await store.put('blobs/all-bytes', bytes);
    const read = await store.get('blobs/all-bytes');
    expect(new Uint8Array(read.body)).toEqual(bytes);
    expect(read.contentType).toBe('application/octet-stream');

    await store.put('blobs/empty', Buffer.alloc(0));
    expect((await store.get('blobs/empty')).body.byteLength).toBe(0);
    expect((await store.head('blobs/empty')).size).toBe(0);
  });

  it('describes an object with head, without its body', async () => {
    const store = await ctx.store();
    const before = Date.now();
    await store.put('a/b/c.txt', 'héllo', { contentType: 'text/plain', metadata: { lang: 'fr' } });
    const info = await store.head('a/b/c.txt');
    expect(info).toMatchObject({ key: 'a/b/c.txt', size: 6, contentType: 'text/plain', metadata: { lang: 'fr' } });
    expect(info).not.toHaveProperty('body');
    expect(info.lastModified).toBeInstanceOf(Date);
    // Second resolution on S3: allow for it.
    expect(info.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2000);
  });

  it('replaces an object on a second put and changes its etag', async () => {
    const store = await ctx.store();
    const first = await store.put('profile/1', 'v1');
    const second = await store.put('profile/1', 'v2');
    expect(second.etag).not.toBe(first.etag);
    expect((await store.get('profile/1')).body.toString()).toBe('v2');
    expect((await store.head('profile/1')).etag).toBe(second.etag);
  });

  it('throws a typed NotFoundError for a missing key, on get, getStream and head', async () => {
    const store = await ctx.store();
    const getError = await rejection(store.get('missing/key'));
    // Recognised by brand and code, not instanceof: adapters may come from another copy of the package.
    expect(isNotFoundError(getError)).toBe(true);
    expect(isStorageError(getError)).toBe(true);
    expect((getError as NotFoundError).key).toBe('missing/key');
    expect((getError as NotFoundError).code).toBe('BACKLOT_STORAGE_NOT_FOUND');
    expect(isNotFoundError(await rejection(store.getStream('missing/key')))).toBe(true);
    expect(isNotFoundError(await rejection(store.head('missing/key')))).toBe(true);
  });

  it('deletes an object, and deleting a missing key is not an error', async () => {
    const store = await ctx.store();
    await store.put('to-delete', 'x');
    await store.delete('to-delete');
    expect(isNotFoundError(await rejection(store.get('to-delete')))).toBe(true);
    await expect(store.delete('to-delete')).resolves.toBeUndefined();
  });

  it('keeps keys with spaces, unicode, symbols and odd slashes intact, and lists them back', async () => {
    const store = await ctx.store();
    const keys = [
      "special/ä ö ü/€ & + = ?#[]@!$'()*,;.txt",
      'special/日本語/ファイル.json',
      'special/emoji 🎬🍿',
      'special/percent %2F %41 %',
      'special/UPPER and lower',
      'special/Upper and lower',
      'special/tilde~dash-under_score.dot.',
      'special/double//slash',
      'special/trailing-slash/',
      'special/.hidden',
      'special/back\\slash',
      `special/${'long-segment/'.repeat(60)}end`,
    ];
    for (const [i, key] of keys.entries()) await store.put(key, `value ${i}`);
    for (const [i, key] of keys.entries()) expect((await store.get(key)).body.toString()).toBe(`value ${i}`);
    const listed: string[] = [];
    for await (const entry of store.list({ prefix: 'special/' })) if (entry.type === 'object') listed.push(entry.key);
    expect(listed.sort()).toEqual([...keys].sort());
  });

  it('rejects empty keys and NUL bytes with a typed InvalidKeyError', async () => {
    const store = await ctx.store();
    expect(isInvalidKeyError(await rejection(store.put('', 'x')))).toBe(true);
    expect(isInvalidKeyError(await rejection(store.put('a\0b', 'x')))).toBe(true);
    expect(isInvalidKeyError(await rejection(store.get('a\0b')))).toBe(true);
    expect(isInvalidKeyError(await rejection(store.put('k'.repeat(1025), 'x')))).toBe(true);
  });

  it('honours an already aborted signal on every call, rejecting with its reason', async () => {
    const store = await ctx.store();
    await store.put('exists', 'x');
    const reason = new Error('caller gave up');
    const signal = AbortSignal.abort(reason);
    const calls: [string, () => Promise<unknown>][] = [
      ['put', () => store.put('aborted', 'x', { signal })],
      ['get', () => store.get('exists', { signal })],
      ['getStream', () => store.getStream('exists', { signal })],
      ['head', () => store.head('exists', { signal })],
      ['delete', () => store.delete('exists', { signal })],
      ['deleteMany', () => store.deleteMany(['exists'], { signal })],
      ['listPage', () => store.listPage({ signal })],
      [
        'list',
        async () => {
          for await (const _ of store.list({ signal })) {
            // nothing
          }
        },
      ],
      ['copy', () => store.copy('exists', 'copied', { signal })],
    ];
    for (const [name, call] of calls) {
      expect(await rejection(call()), name).toBe(reason);
    }
    expect((await store.get('exists')).body.toString()).toBe('x');
    expect(isNotFoundError(await rejection(store.head('aborted')))).toBe(true);
  });
}
