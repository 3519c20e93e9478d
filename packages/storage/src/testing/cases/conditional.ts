import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { isNotFoundError, isPreconditionFailedError, type PreconditionFailedError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { rejection } from '../helpers.js';

const needs = 'conditionalWrites';

/** Create-only, compare-and-swap, and races where exactly one writer wins. */
export function conditionalCases(ctx: SuiteContext): void {
  it("ifNoneMatch: '*' creates only: a second create fails with PreconditionFailedError", async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    await store.put('cond/create', 'first', { ifNoneMatch: '*' });
    const error = await rejection(store.put('cond/create', 'second', { ifNoneMatch: '*' }));
    expect(isPreconditionFailedError(error)).toBe(true);
    expect((error as PreconditionFailedError).key).toBe('cond/create');
    expect((error as PreconditionFailedError).code).toBe('BACKLOT_STORAGE_PRECONDITION_FAILED');
    expect((await store.get('cond/create')).body.toString()).toBe('first');

    // Also for a streamed body of unknown length.
    const streamed = await rejection(
      store.put('cond/create', Readable.from([Buffer.from('third')]), { ifNoneMatch: '*' }),
    );
    expect(isPreconditionFailedError(streamed)).toBe(true);
    expect((await store.get('cond/create')).body.toString()).toBe('first');
  });

  it('ifMatch swaps only from the current etag; a stale etag fails, a missing key is NotFound', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    const v1 = await store.put('cond/cas', 'v1');
    const v2 = await store.put('cond/cas', 'v2', { ifMatch: v1.etag });
    expect(v2.etag).not.toBe(v1.etag);
    expect(isPreconditionFailedError(await rejection(store.put('cond/cas', 'v3', { ifMatch: v1.etag })))).toBe(true);
    expect((await store.get('cond/cas')).body.toString()).toBe('v2');
    expect(isNotFoundError(await rejection(store.put('cond/none', 'x', { ifMatch: v1.etag })))).toBe(true);
    expect(isNotFoundError(await rejection(store.head('cond/none')))).toBe(true);
  });

  it('get with a stale ifMatch fails with PreconditionFailedError', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    const v1 = await store.put('cond/read', 'v1');
    expect((await store.get('cond/read', { ifMatch: v1.etag })).body.toString()).toBe('v1');
    await store.put('cond/read', 'v2');
    expect(isPreconditionFailedError(await rejection(store.get('cond/read', { ifMatch: v1.etag })))).toBe(true);
  });

  it('of concurrent create-only writes, exactly one wins', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    const racers = ctx.options.racers;
    const results = await Promise.allSettled(
      Array.from({ length: racers }, (_, i) => store.put('cond/race-create', `writer ${i}`, { ifNoneMatch: '*' })),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isPreconditionFailedError(r.reason)).toBe(true);
    expect((await store.get('cond/race-create')).body.toString()).toBe(`writer ${winners[0]}`);
  });

  it('of concurrent compare-and-swap writes from the same etag, exactly one wins', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    const base = await store.put('cond/race-cas', 'base');
    const racers = ctx.options.racers;
    const results = await Promise.allSettled(
      Array.from({ length: racers }, (_, i) => store.put('cond/race-cas', `writer ${i}`, { ifMatch: base.etag })),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isPreconditionFailedError(r.reason)).toBe(true);
    const current = await store.get('cond/race-cas');
    expect(current.body.toString()).toBe(`writer ${winners[0]}`);
    const winner = results[winners[0] as number];
    expect(winner?.status === 'fulfilled' && winner.value.etag).toBe(current.etag);
  });

  it('a counter incremented by racing read-modify-write loops loses no update', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, needs), `${ctx.options.name} does not declare ${needs}`);
    await store.put('cond/counter', '0');
    const increments = 5;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let done = 0; done < increments; ) {
          const current = await store.get('cond/counter');
          try {
            await store.put('cond/counter', String(Number(current.body.toString()) + 1), { ifMatch: current.etag });
            done++;
          } catch (error) {
            if (!isPreconditionFailedError(error)) throw error;
          }
        }
      }),
    );
    expect((await store.get('cond/counter')).body.toString()).toBe(String(4 * increments));
  });
}
