import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { aimdLimit, isAbortedError, isRejectedError, runInRequestContext } from '../src/index.js';
import { define, registry } from './helpers.js';

describe('request cache', () => {
  it('shares one execution between identical calls within a request, and only there', async () => {
    let runs = 0;
    const getTitle = define({
      key: 'titles.get',
      cacheKey: (id: string) => id,
      run: async (_e, id: string) => {
        runs++;
        await sleep(5);
        return { id, name: `title ${id}` };
      },
    });
    const [a, b, c] = await runInRequestContext(() => Promise.all([getTitle('1'), getTitle('1'), getTitle('2')]));
    expect(a).toBe(b);
    expect(c?.id).toBe('2');
    expect(runs).toBe(2);
    expect(getTitle.metrics().counts.responseFromCache).toBe(1);

    await runInRequestContext(() => getTitle('1')); // another request: runs again
    await getTitle('1'); // no request context: no cache
    expect(runs).toBe(4);
    expect(getTitle.metrics().settings.requestCacheEnabled).toBe(true);
  });
});

describe('request context signal', () => {
  it("aborts the command's execution when the request's signal aborts", async () => {
    let seen: AbortSignal | undefined;
    const command = define({
      key: 'ctx-signal',
      run: ({ signal }) => {
        seen = signal;
        return sleep(10_000, 1, { signal });
      },
    });
    const request = new AbortController();
    const pending = runInRequestContext(() => command(), { signal: request.signal });
    request.abort(new Error('client disconnected'));
    expect(isAbortedError(await pending.catch((e: unknown) => e))).toBe(true);
    expect(seen?.aborted).toBe(true);
  });
});

describe('adaptive concurrency limit instead of a bulkhead', () => {
  it('rejects calls over the current limit at once and reports it as the group limit', async () => {
    const gates: (() => void)[] = [];
    const command = define({
      key: 'adaptive',
      timeoutMs: false,
      concurrencyLimit: aimdLimit({ initialLimit: 3, minLimit: 1, maxLimit: 10 }),
      run: () => new Promise<number>((resolve) => gates.push(() => resolve(1))),
    });
    const running = [command(), command(), command()];
    expect(isRejectedError(await command().catch((e: unknown) => e))).toBe(true);
    for (const open of gates) open();
    await Promise.all(running);
    expect(registry.groupMetrics()[0]).toMatchObject({ kind: 'adaptive', active: 0, rejected: 1 });
    expect(registry.groupMetrics()[0]?.limit).toBeGreaterThanOrEqual(3);
  });

  it('refuses a bulkhead and a concurrency limit together', () => {
    expect(() =>
      define({ key: 'both', bulkhead: { maxConcurrent: 2 }, concurrencyLimit: aimdLimit(), run: () => 1 }),
    ).toThrow(/either bulkhead .* or concurrencyLimit/);
  });
});
