import { expect, it } from 'vitest';
import { isInvalidRangeError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { drain, rejection } from '../helpers.js';

/** Byte ranges on get and getStream. */
export function rangeCases(ctx: SuiteContext): void {
  it('reads byte ranges whole and streamed (capability rangeReads)', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, 'rangeReads'), `${ctx.options.name} does not declare rangeReads`);
    const body = Buffer.from('0123456789abcdefghij');
    await store.put('ranges/r', body);

    const mid = await store.get('ranges/r', { range: { offset: 5, length: 4 } });
    expect(mid.body.toString()).toBe('5678');
    expect(mid.range).toEqual({ offset: 5, length: 4 });
    expect(mid.size).toBe(20);

    expect((await store.get('ranges/r', { range: { offset: 15 } })).body.toString()).toBe('fghij');
    const cut = await store.get('ranges/r', { range: { offset: 18, length: 100 } });
    expect(cut.body.toString()).toBe('ij');
    expect(cut.range).toEqual({ offset: 18, length: 2 });

    const streamed = await store.getStream('ranges/r', { range: { offset: 0, length: 3 } });
    expect(streamed.range).toEqual({ offset: 0, length: 3 });
    expect((await drain(streamed.body)).bytes).toBe(3);
  });

  it('rejects a range that starts at or past the end with InvalidRangeError (capability rangeReads)', async (t) => {
    const store = await ctx.store();
    t.skip(!ctx.has(store, 'rangeReads'), `${ctx.options.name} does not declare rangeReads`);
    await store.put('ranges/short', '12345');
    expect(isInvalidRangeError(await rejection(store.get('ranges/short', { range: { offset: 5 } })))).toBe(true);
    expect(isInvalidRangeError(await rejection(store.get('ranges/short', { range: { offset: -1 } })))).toBe(true);
  });
}
