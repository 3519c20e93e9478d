import { expect, it } from 'vitest';
import { isNotFoundError, isPreconditionFailedError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { drain, failingBody, generatedBody, hashing, rejection } from '../helpers.js';

const MiB = 1024 * 1024;
const needs = 'multipart';

/** Bodies that go up in several parts: conditions on completion, and failures that leave nothing behind. */
export function multipartCases(ctx: SuiteContext): void {
  it(
    'a several-part body of unknown length round-trips, and honours ifNoneMatch at completion (capability multipart)',
    async (t) => {
      const store = await ctx.store();
      t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
      const written = hashing();
      await store.put('mp/object', written.tap(generatedBody(21 * MiB)), { ifNoneMatch: '*' });
      const read = await drain((await store.getStream('mp/object')).body);
      expect(read).toEqual({ sha256: written.digest(), bytes: 21 * MiB });

      // The same create-only condition on an existing key fails when the parts are completed.
      const error = await rejection(store.put('mp/object', generatedBody(21 * MiB), { ifNoneMatch: '*' }));
      expect(isPreconditionFailedError(error)).toBe(true);
      const after = await drain((await store.getStream('mp/object')).body);
      expect(after.sha256).toBe(written.digest());

      // And compare-and-swap from a stale etag.
      const stale = await rejection(store.put('mp/object', generatedBody(11 * MiB), { ifMatch: '"0123456789abcdef"' }));
      expect(isPreconditionFailedError(stale)).toBe(true);
    },
    ctx.options.slowTimeoutMs,
  );

  it(
    'a body that fails after several parts rejects and leaves no object (capability multipart)',
    async (t) => {
      const store = await ctx.store();
      t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
      const parts = Array.from({ length: 20 }, (_, i) => Buffer.alloc(MiB, i));
      const error = await rejection(store.put('mp/failed', failingBody(parts, new Error('source broke after 20 MiB'))));
      expect(String(error)).toMatch(/source broke/);
      expect(isNotFoundError(await rejection(store.head('mp/failed')))).toBe(true);
    },
    ctx.options.slowTimeoutMs,
  );
}
