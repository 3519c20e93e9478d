import { describe, expectTypeOf, it } from 'vitest';
import { withTimeout } from '../src/index.js';

describe('withTimeout types', () => {
  it('keeps the operation result type', () => {
    expectTypeOf(withTimeout(async () => ({ id: 1 }), { timeoutMs: 10 })).toEqualTypeOf<Promise<{ id: number }>>();
    expectTypeOf(withTimeout(() => 'x' as const, { timeoutMs: 10 })).toEqualTypeOf<Promise<'x'>>();
  });

  it('hands the operation an AbortSignal', () => {
    withTimeout(
      (signal) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
        return 1;
      },
      { timeoutMs: 10 },
    );
  });

  it('requires timeoutMs', () => {
    // @ts-expect-error timeoutMs is required
    withTimeout(() => 1, {});
  });
});
