import { describe, expect, it } from 'vitest';
import { isInvalidKeyError, isNotFoundError, NotFoundError, type ObjectStore } from '../src/index.js';

/**
 * The behaviour every adapter must share. Each adapter's test file calls this
 * with a factory for a fresh, empty store.
 */
export function describeObjectStore(name: string, makeStore: () => Promise<ObjectStore> | ObjectStore): void {
  describe(`${name}: ObjectStore contract`, () => {
    it('round-trips a string body with content type and metadata', async () => {
      const store = await makeStore();
      const written = await store.put('titles/80100172.json', '{"title":"Stranger Things"}', {
        contentType: 'application/json',
        metadata: { Origin: 'catalog' },
      });
      expect(written.size).toBe(27);
      expect(written.etag).toMatch(/^".+"$/);

      const read = await store.get('titles/80100172.json');
      expect(read.body.toString('utf8')).toBe('{"title":"Stranger Things"}');
      expect(read.size).toBe(27);
      expect(read.etag).toBe(written.etag);
      expect(read.contentType).toBe('application/json');
      expect(read.metadata).toEqual({ origin: 'catalog' });
    });

    it('round-trips binary bytes exactly', async () => {
      const store = await makeStore();
      const bytes = new Uint8Array(256).map((_, i) => i);
      await store.put('blobs/all-bytes', bytes);
      const read = await store.get('blobs/all-bytes');
      expect(new Uint8Array(read.body)).toEqual(bytes);
      expect(read.contentType).toBe('application/octet-stream');
    });

    it('describes an object with head, without its body', async () => {
      const store = await makeStore();
      await store.put('a/b/c.txt', 'héllo', { contentType: 'text/plain' });
      const info = await store.head('a/b/c.txt');
      expect(info).toMatchObject({ key: 'a/b/c.txt', size: 6, contentType: 'text/plain' });
      expect(info).not.toHaveProperty('body');
      expect(info.lastModified).toBeInstanceOf(Date);
    });

    it('replaces an object on a second put and changes its etag', async () => {
      const store = await makeStore();
      const first = await store.put('profile/1', 'v1');
      const second = await store.put('profile/1', 'v2');
      expect(second.etag).not.toBe(first.etag);
      expect((await store.get('profile/1')).body.toString()).toBe('v2');
    });

    it('throws a typed NotFoundError for a missing key, on get and head', async () => {
      const store = await makeStore();
      const getError = await store.get('missing/key').catch((e: unknown) => e);
      expect(getError).toBeInstanceOf(NotFoundError);
      expect(isNotFoundError(getError)).toBe(true);
      expect((getError as NotFoundError).key).toBe('missing/key');
      expect(isNotFoundError(await store.head('missing/key').catch((e: unknown) => e))).toBe(true);
    });

    it('deletes an object, and deleting a missing key is not an error', async () => {
      const store = await makeStore();
      await store.put('to-delete', 'x');
      await store.delete('to-delete');
      expect(isNotFoundError(await store.get('to-delete').catch((e: unknown) => e))).toBe(true);
      await expect(store.delete('to-delete')).resolves.toBeUndefined();
    });

    it('keeps keys with spaces, unicode and symbols intact', async () => {
      const store = await makeStore();
      const key = "special/ä ö ü/€ & + = ?#[]@!$'()*,;.txt";
      await store.put(key, 'ok');
      expect((await store.get(key)).body.toString()).toBe('ok');
    });

    it('rejects empty keys and NUL bytes with a typed error', async () => {
      const store = await makeStore();
      expect(isInvalidKeyError(await store.put('', 'x').catch((e: unknown) => e))).toBe(true);
      expect(isInvalidKeyError(await store.put('a\0b', 'x').catch((e: unknown) => e))).toBe(true);
    });

    it('honours an already aborted signal', async () => {
      const store = await makeStore();
      await expect(store.put('aborted', 'x', { signal: AbortSignal.abort() })).rejects.toThrow();
    });
  });
}
