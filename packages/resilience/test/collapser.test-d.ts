import { describe, expectTypeOf, it } from 'vitest';
import { type Collapser, cachedInRequest, defineCollapser, runInRequestContext } from '../src/context/index.js';
import { AdaptiveLimiter, type LimiterToken, vegasLimit } from '../src/limit/index.js';

describe('context and limit types', () => {
  it('infers the key and value types of a collapser from its batch', () => {
    const fromMap = defineCollapser({
      name: 'titles',
      batch: async (ids: readonly string[]) => new Map(ids.map((id) => [id, { id, title: 'x' }])),
    });
    expectTypeOf(fromMap).toEqualTypeOf<Collapser<string, { id: string; title: string }>>();
    expectTypeOf(fromMap('1')).toEqualTypeOf<Promise<{ id: string; title: string }>>();

    const fromArray = defineCollapser({
      name: 'ratings',
      batch: async (ids: readonly number[]) => ids.map((id) => (id > 0 ? id * 2 : new Error('bad'))),
    });
    expectTypeOf(fromArray).toEqualTypeOf<Collapser<number, number>>();
  });

  it('types the key function and the signal', () => {
    defineCollapser({
      name: 'refs',
      batch: async (refs: readonly { id: number }[], signal) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>();
        return refs.map((r) => r.id);
      },
      key: (ref) => {
        expectTypeOf(ref).toEqualTypeOf<{ id: number }>();
        return String(ref.id);
      },
    });
  });

  it('rejects a batch whose results do not match the keys', () => {
    defineCollapser<string, number>({
      name: 'bad',
      // @ts-expect-error the batch must resolve to numbers (or Errors)
      batch: async (ids: readonly string[]) => ids,
    });
  });

  it('keeps the result types of runInRequestContext and cachedInRequest', () => {
    expectTypeOf(runInRequestContext(() => 1)).toEqualTypeOf<number>();
    expectTypeOf(runInRequestContext(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(cachedInRequest('ns', 'k', async () => ({ n: 1 }))).toEqualTypeOf<Promise<{ n: number }>>();
  });

  it('returns a token or undefined from tryAcquire', () => {
    expectTypeOf(new AdaptiveLimiter({ limit: vegasLimit() }).tryAcquire()).toEqualTypeOf<LimiterToken | undefined>();
  });
});
