import { expect, it } from 'vitest';
import { canPresign } from '../../core/types.js';
import type { SuiteContext } from '../context.js';

const needs = 'presign';

/** Presigned GET and PUT URLs, used with plain fetch and no credentials. */
export function presignCases(ctx: SuiteContext): void {
  it('presigned PUT then GET URLs work without credentials (capability presign)', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs) || !canPresign(store), `${ctx.options.name} does not declare ${needs}`);
    if (!canPresign(store)) return;
    const putUrl = await store.presign('presigned/upload.txt', {
      method: 'PUT',
      expiresIn: 300,
      contentType: 'text/plain',
    });
    const put = await fetch(putUrl, {
      method: 'PUT',
      body: 'uploaded by url',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const stored = await store.get('presigned/upload.txt');
    expect(stored.body.toString()).toBe('uploaded by url');
    expect(stored.contentType).toBe('text/plain');

    const getUrl = await store.presign('presigned/upload.txt', { expiresIn: 60 });
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('uploaded by url');
  });
}
