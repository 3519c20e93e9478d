import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CollapserBatchMismatchError,
  CollapserMissingKeyError,
  defineCollapser,
  isCollapserBatchMismatchError,
  isCollapserMissingKeyError,
  runInRequestContext,
} from '../src/context/index.js';

const settle = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);

describe('defineCollapser (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('sends the calls of one window as one batch, and each caller gets its own result', async () => {
    const batch = vi.fn(async (ids: readonly string[]) => new Map(ids.map((id) => [id, `title ${id}`])));
    const load = defineCollapser({ name: 'titles', batch });
    const results = Promise.all([load('1'), load('2'), load('3')]);
    expect(batch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual(['title 1', 'title 2', 'title 3']);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(batch).toHaveBeenCalledWith(['1', '2', '3'], undefined);
  });

  it('waits windowMs from the first call, then starts a new window', async () => {
    const batch = vi.fn(async (ids: readonly number[]) => ids.map((id) => id * 2));
    const load = defineCollapser({ name: 'double', batch, windowMs: 50 });
    const a = load(1);
    await vi.advanceTimersByTimeAsync(49);
    const b = load(2);
    expect(batch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(batch).toHaveBeenCalledTimes(1);
    const c = load(3);
    await vi.advanceTimersByTimeAsync(50);
    await expect(Promise.all([a, b, c])).resolves.toEqual([2, 4, 6]);
    expect(batch.mock.calls.map(([ids]) => ids)).toEqual([[1, 2], [3]]);
  });

  it('sends a duplicate key once and resolves every caller of it', async () => {
    const batch = vi.fn(async (ids: readonly string[]) => ids.map((id) => id.toUpperCase()));
    const load = defineCollapser({ name: 'upper', batch });
    const results = Promise.all([load('a'), load('b'), load('a'), load('a')]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual(['A', 'B', 'A', 'A']);
    expect(batch).toHaveBeenCalledWith(['a', 'b'], undefined);
  });

  it('dedups object keys by the key function, and maps Map results back through it', async () => {
    type Ref = { id: number };
    const batch = vi.fn(async (refs: readonly Ref[]) => new Map(refs.map((ref) => [{ id: ref.id }, `#${ref.id}`])));
    const load = defineCollapser({ name: 'refs', batch, key: (ref: Ref) => String(ref.id) });
    const results = Promise.all([load({ id: 1 }), load({ id: 1 }), load({ id: 2 })]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual(['#1', '#1', '#2']);
    expect(batch.mock.calls[0]?.[0]).toHaveLength(2);
  });

  it('rejects only the callers whose key got an Error, or no entry', async () => {
    const notFound = new Error('title 2 not found');
    const load = defineCollapser({
      name: 'titles',
      batch: async (_ids: readonly string[]) =>
        new Map<string, string | Error>([
          ['1', 'one'],
          ['2', notFound],
        ]),
    });
    const results = settle([load('1'), load('2'), load('3'), load('2')]);
    await vi.advanceTimersByTimeAsync(10);
    const [one, two, three, twoAgain] = await results;
    expect(one).toEqual({ status: 'fulfilled', value: 'one' });
    expect(two).toEqual({ status: 'rejected', reason: notFound });
    expect(twoAgain).toEqual({ status: 'rejected', reason: notFound });
    expect(three?.status).toBe('rejected');
    const missing = (three as PromiseRejectedResult).reason;
    expect(missing).toBeInstanceOf(CollapserMissingKeyError);
    expect(isCollapserMissingKeyError(missing)).toBe(true);
    expect(missing.code).toBe('BACKLOT_COLLAPSER_MISSING_KEY');
    expect(missing.key).toBe('3');
    expect(missing.collapser).toBe('titles');
    expect(missing.message).toBe('collapser "titles": the batch returned no result for key \'3\'');
  });

  it('maps an array result by position, an Error element rejecting only its caller', async () => {
    const bad = new Error('bad id');
    const load = defineCollapser({
      name: 'positional',
      batch: async (ids: readonly number[]) => ids.map((id) => (id < 0 ? bad : id + 1)),
    });
    const results = settle([load(1), load(-1), load(2)]);
    await vi.advanceTimersByTimeAsync(10);
    expect(await results).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 3 },
    ]);
  });

  it('rejects every caller with a clear error when an array result has the wrong length', async () => {
    const load = defineCollapser({ name: 'short', batch: async (ids: readonly number[]) => ids.slice(1) });
    const results = settle([load(1), load(2), load(3)]);
    await vi.advanceTimersByTimeAsync(10);
    const settled = await results;
    for (const result of settled) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(CollapserBatchMismatchError);
      expect(isCollapserBatchMismatchError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'BACKLOT_COLLAPSER_BATCH_MISMATCH', expected: 3, received: 2 });
      expect(error.message).toContain('collapser "short": the batch returned 2 results for 3 keys');
    }
  });

  it('rejects every caller when the batch resolves to neither a Map nor an array', async () => {
    const load = defineCollapser({ name: 'odd', batch: async () => ({}) as never });
    const result = load(1).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(isCollapserBatchMismatchError(await result)).toBe(true);
  });

  it('rejects every caller of a batch that throws or rejects, with that error', async () => {
    const failure = new Error('ratings service down');
    const load = defineCollapser<number, number>({
      name: 'ratings',
      batch: async () => {
        throw failure;
      },
    });
    const syncThrow = defineCollapser<number, number>({
      name: 'sync',
      batch: () => {
        throw failure;
      },
    });
    const results = settle([load(1), load(2), syncThrow(3)]);
    await vi.advanceTimersByTimeAsync(10);
    expect(await results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });

  it('sends a batch as soon as it holds maxBatchSize distinct keys', async () => {
    const batch = vi.fn(async (ids: readonly number[]) => ids);
    const load = defineCollapser({ name: 'split', batch, maxBatchSize: 3 });
    const results = Promise.all([1, 2, 2, 3, 4, 5, 6, 7].map((id) => load(id)));
    // Two full batches go out at once; the rest waits for its window.
    expect(batch.mock.calls.map(([ids]) => ids)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual([1, 2, 2, 3, 4, 5, 6, 7]);
    expect(batch.mock.calls.map(([ids]) => ids)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('with scope "request", never mixes the keys of different requests, and hands each its signal', async () => {
    const batch = vi.fn(async (ids: readonly string[], _signal: AbortSignal | undefined) => ids);
    const load = defineCollapser({ name: 'scoped', batch });
    const a = new AbortController();
    const b = new AbortController();
    const results = Promise.all([
      runInRequestContext(() => Promise.all([load('a1'), load('shared')]), { signal: a.signal }),
      runInRequestContext(() => Promise.all([load('b1'), load('shared')]), { signal: b.signal }),
      load('outside'),
    ]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual([['a1', 'shared'], ['b1', 'shared'], 'outside']);
    expect(batch).toHaveBeenCalledTimes(3);
    expect(batch).toHaveBeenCalledWith(['a1', 'shared'], a.signal);
    expect(batch).toHaveBeenCalledWith(['b1', 'shared'], b.signal);
    expect(batch).toHaveBeenCalledWith(['outside'], undefined);
  });

  it('with scope "global", batches the calls of all requests together', async () => {
    const batch = vi.fn(async (ids: readonly string[]) => ids);
    const load = defineCollapser({ name: 'global', batch, scope: 'global' });
    const results = Promise.all([
      runInRequestContext(() => load('a'), { signal: new AbortController().signal }),
      runInRequestContext(() => load('b')),
      load('c'),
    ]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(results).resolves.toEqual(['a', 'b', 'c']);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(batch).toHaveBeenCalledWith(['a', 'b', 'c'], undefined);
  });

  it('rejects the caller whose key function throws, without sending an empty batch', async () => {
    const batch = vi.fn(async (ids: readonly string[]) => ids);
    const load = defineCollapser({
      name: 'keys',
      batch,
      key: (k: string) => {
        if (k === 'bad') throw new Error('bad key');
        return k;
      },
    });
    await expect(load('bad')).rejects.toThrow('bad key');
    await vi.advanceTimersByTimeAsync(10);
    expect(batch).not.toHaveBeenCalled();
  });

  it.each([
    [{ batch: async () => [] }, 'name must be a string'],
    [{ name: '', batch: async () => [] }, 'name must not be empty'],
    [{ name: 'x' }, 'batch must be a function'],
    [{ name: 'x', batch: async () => [], windowMs: -1 }, 'windowMs must be at least 0'],
    [{ name: 'x', batch: async () => [], maxBatchSize: 0 }, 'maxBatchSize must be at least 1'],
    [{ name: 'x', batch: async () => [], maxBatchSize: 2.5 }, 'maxBatchSize must be a whole number'],
    [{ name: 'x', batch: async () => [], scope: 'session' }, "scope must be 'request' or 'global'"],
    [{ name: 'x', batch: async () => [], key: 'id' }, 'key must be a function'],
  ])('rejects bad options %# with a TypeError naming the option', (options, message) => {
    expect(() => defineCollapser(options as never)).toThrow(TypeError);
    expect(() => defineCollapser(options as never)).toThrow(`defineCollapser: `);
    expect(() => defineCollapser(options as never)).toThrow(message);
  });
});

describe('defineCollapser (real timers)', () => {
  it('batches, settles every caller and leaves nothing pending', async () => {
    const batch = vi.fn(async (ids: readonly number[]) => {
      await sleep(1);
      return new Map(ids.map((id) => [id, id * 10]));
    });
    const load = defineCollapser({ name: 'real', batch, windowMs: 5 });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const results = await runInRequestContext(() => Promise.all([load(1), load(2), load(1)]));
    expect(results).toEqual([10, 20, 10]);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });
});
