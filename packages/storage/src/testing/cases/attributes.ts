import { expect, it } from 'vitest';
import { isStorageError, isValidationError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { drain, rejection } from '../helpers.js';

const headers = {
  cacheControl: 'public, max-age=31536000, immutable',
  contentDisposition: 'attachment; filename="trailer.mp4"',
  contentEncoding: 'gzip',
};

/** Cache control, disposition and encoding; option and metadata validation, the same on every adapter. */
export function attributeCases(ctx: SuiteContext): void {
  it('stores cacheControl, contentDisposition and contentEncoding, and returns them from every read', async () => {
    const store = await ctx.store();
    const written = await store.put('attrs/a', 'bytes', { contentType: 'video/mp4', ...headers });
    expect(written).toMatchObject(headers);
    expect(await store.head('attrs/a')).toMatchObject({ contentType: 'video/mp4', ...headers });
    expect(await store.get('attrs/a')).toMatchObject(headers);
    const stream = await store.getStream('attrs/a');
    expect(stream).toMatchObject(headers);
    await drain(stream.body);
    const plain = await store.head((await store.put('attrs/plain', 'x')).key);
    expect(plain.cacheControl).toBeUndefined();
    expect(plain.contentDisposition).toBeUndefined();
    expect(plain.contentEncoding).toBeUndefined();
  });

  it('a copy keeps them, and one given replaces only that one, also with a new content type', async () => {
    const store = await ctx.store();
    await store.put('attrs/src', 'bytes', { contentType: 'video/mp4', metadata: { origin: 'ingest' }, ...headers });
    await store.copy('attrs/src', 'attrs/same');
    expect(await store.head('attrs/same')).toMatchObject({
      contentType: 'video/mp4',
      metadata: { origin: 'ingest' },
      ...headers,
    });
    await store.copy('attrs/src', 'attrs/retyped', { contentType: 'application/octet-stream' });
    expect(await store.head('attrs/retyped')).toMatchObject({
      contentType: 'application/octet-stream',
      metadata: { origin: 'ingest' },
      ...headers,
    });
    const copied = await store.copy('attrs/src', 'attrs/recached', { cacheControl: 'no-store' });
    expect(copied.cacheControl).toBe('no-store');
    expect(await store.head('attrs/recached')).toMatchObject({
      contentType: 'video/mp4',
      cacheControl: 'no-store',
      contentDisposition: headers.contentDisposition,
      contentEncoding: 'gzip',
    });
  });

  it('unknown options are a TypeError naming them, never ignored', async () => {
    const store = await ctx.store();
    const put = await rejection(store.put('attrs/u', 'x', { cachecontrol: 'no-store' } as never));
    expect(put).toBeInstanceOf(TypeError);
    expect(String(put)).toMatch(/cachecontrol/);
    await store.put('attrs/u', 'x');
    const copy = await rejection(store.copy('attrs/u', 'attrs/v', { metaData: {} } as never));
    expect(copy).toBeInstanceOf(TypeError);
    expect(String(copy)).toMatch(/metaData/);
    await expect(store.head('attrs/v')).rejects.toThrow(/no object/);
  });

  it('metadata S3 cannot store as given is a non-retryable ValidationError on every adapter', async () => {
    const store = await ctx.store();
    for (const metadata of [
      { title: 'Amélie' }, // non-ASCII value
      { 'bad name': 'x' }, // not a header name
      { note: ' padded ' }, // S3 would trim it
      { big: 'x'.repeat(2100) }, // over 2 KiB
      { Same: 'a', same: 'b' }, // equal once lower-cased
    ]) {
      const error = await rejection(store.put('attrs/m', 'x', { metadata }));
      expect(isValidationError(error), `${JSON.stringify(metadata).slice(0, 40)}: ${String(error)}`).toBe(true);
      expect(isStorageError(error)).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(false);
    }
    const header = await rejection(store.put('attrs/m', 'x', { cacheControl: 'max-age=\u00e9' }));
    expect(isValidationError(header)).toBe(true);
    await expect(store.head('attrs/m')).rejects.toThrow(/no object/);
    await store.put('attrs/m', 'x', { metadata: { 'x-ok_1': 'a value, with = and ;' } });
    expect((await store.head('attrs/m')).metadata).toEqual({ 'x-ok_1': 'a value, with = and ;' });
  });
}
