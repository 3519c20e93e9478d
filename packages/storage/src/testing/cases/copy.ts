import { expect, it } from 'vitest';
import { isNotFoundError, isPreconditionFailedError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { rejection } from '../helpers.js';

/** Server-side copies. */
export function copyCases(ctx: SuiteContext): void {
  it('copies body, content type and metadata, or replaces them', async () => {
    const store = await ctx.store();
    await store.put('copy/src', 'payload', { contentType: 'text/plain', metadata: { origin: 'ingest' } });
    const copied = await store.copy('copy/src', 'copy/dst');
    expect(copied).toMatchObject({
      key: 'copy/dst',
      size: 7,
      contentType: 'text/plain',
      metadata: { origin: 'ingest' },
    });
    const read = await store.get('copy/dst');
    expect(read.body.toString()).toBe('payload');
    expect(read.metadata).toEqual({ origin: 'ingest' });
    expect(read.etag).toBe(copied.etag);

    await store.copy('copy/src', 'copy/renamed', { metadata: { origin: 'archive' } });
    const replaced = await store.head('copy/renamed');
    expect(replaced.metadata).toEqual({ origin: 'archive' });
    expect(replaced.contentType).toBe('text/plain');
    expect((await store.get('copy/src')).body.toString()).toBe('payload');
  });

  it('a copy from a missing key is NotFound', async () => {
    const store = await ctx.store();
    expect(isNotFoundError(await rejection(store.copy('copy/missing', 'copy/x')))).toBe(true);
  });

  it('honours source and destination conditions (capability conditionalWrites)', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, 'conditionalWrites'), `${ctx.options.name} does not declare conditionalWrites`);
    const src = await store.put('copy/c-src', 'one');
    await store.put('copy/c-dst', 'taken');
    expect(
      isPreconditionFailedError(await rejection(store.copy('copy/c-src', 'copy/c-dst', { ifNoneMatch: '*' }))),
    ).toBe(true);
    expect((await store.get('copy/c-dst')).body.toString()).toBe('taken');
    expect(
      isPreconditionFailedError(await rejection(store.copy('copy/c-src', 'copy/c-new', { sourceIfMatch: '"stale"' }))),
    ).toBe(true);
    await store.copy('copy/c-src', 'copy/c-new', { sourceIfMatch: src.etag, ifNoneMatch: '*' });
    expect((await store.get('copy/c-new')).body.toString()).toBe('one');
  });
}
