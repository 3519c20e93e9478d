import { describe, expectTypeOf, it } from 'vitest';
import { type Command, type CommandFailure, defineCommand, type Execution } from '../src/index.js';

describe('defineCommand types', () => {
  it('keeps the argument and result types of run', () => {
    const getTitle = defineCommand({
      key: 'types.getTitle',
      run: async (_execution, id: string, country: 'NL' | 'US') => ({ id, country, name: 'x' }),
    });
    expectTypeOf(getTitle).toEqualTypeOf<
      Command<[id: string, country: 'NL' | 'US'], { id: string; country: 'NL' | 'US'; name: string }>
    >();
    expectTypeOf(getTitle('1', 'NL')).resolves.toEqualTypeOf<{ id: string; country: 'NL' | 'US'; name: string }>();
    // @ts-expect-error country must be 'NL' | 'US'
    getTitle('1', 'DE');
    // @ts-expect-error id is required
    getTitle();
  });

  it('hands run an Execution and the fallback the failure and the arguments', () => {
    defineCommand({
      key: 'types.fallback',
      run: (execution, n: number) => {
        expectTypeOf(execution).toEqualTypeOf<Execution>();
        expectTypeOf(execution.signal).toEqualTypeOf<AbortSignal>();
        return n * 2;
      },
      fallback: (failure, n) => {
        expectTypeOf(failure).toEqualTypeOf<CommandFailure>();
        expectTypeOf(n).toEqualTypeOf<number>();
        return 0;
      },
    });
  });

  it('does not let a fallback that ignores the arguments erase them', () => {
    const command = defineCommand({ key: 'types.ignore', run: async (_e, n: number) => n, fallback: () => -1 });
    expectTypeOf(command).parameter(0).toEqualTypeOf<number>();
  });

  it("requires the fallback to answer with run's result type", () => {
    defineCommand({
      key: 'types.mismatch',
      run: async () => ({ name: 'x' }),
      // @ts-expect-error the fallback must return { name: string }
      fallback: () => 42,
    });
    type Title = { name: string; fresh: boolean };
    const command = defineCommand({
      key: 'types.degraded',
      run: async (): Promise<Title> => ({ name: 'x', fresh: true }),
      fallback: () => ({ name: 'cached', fresh: false }),
    });
    expectTypeOf(command()).resolves.toEqualTypeOf<Title>();
  });

  it('passes per-call options through execute', () => {
    const command = defineCommand({ key: 'types.execute', run: (_e, a: string) => a.length });
    expectTypeOf(command.execute({ signal: AbortSignal.timeout(10) }, 'x')).resolves.toEqualTypeOf<number>();
  });
});
