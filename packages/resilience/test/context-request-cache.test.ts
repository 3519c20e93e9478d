import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { cachedInRequest, currentRequestContext, runInRequestContext } from '../src/context/index.js';

describe('runInRequestContext', () => {
  it('exposes the context, with its signal, across awaits', async () => {
    const controller = new AbortController();
    const seen = await runInRequestContext(
      async () => {
        const before = currentRequestContext();
        await sleep(1);
        return [before, currentRequestContext()];
      },
      { signal: controller.signal },
    );
    expect(seen[0]).toBeDefined();
    expect(seen[1]).toBe(seen[0]);
    expect(seen[0]?.signal).toBe(controller.signal);
    expect(currentRequestContext()).toBeUndefined();
  });

  it('returns what fn returns, synchronously', () => {
    expect(runInRequestContext(() => 42)).toBe(42);
    expect(runInRequestContext(() => currentRequestContext()?.signal)).toBeUndefined();
  });

  it('gives concurrent requests and nested calls their own context', async () => {
    const [a, b] = await Promise.all([
      runInRequestContext(async () => {
        await sleep(2);
        return currentRequestContext();
      }),
      runInRequestContext(async () => currentRequestContext()),
    ]);
    expect(a).not.toBe(b);
    runInRequestContext(() => {
      const outer = currentRequestContext();
      runInRequestContext(() => expect(currentRequestContext()).not.toBe(outer));
      expect(currentRequestContext()).toBe(outer);
    });
  });

  it('rejects a signal that is not an AbortSignal', () => {
    expect(() => runInRequestContext(() => 1, { signal: {} as never })).toThrow(
      'runInRequestContext: signal must be an AbortSignal',
    );
  });
});

describe('cachedInRequest', () => {
  it('shares one execution, and the same promise, between identical calls in one request', async () => {
    const execute = vi.fn(async () => ({ id: '42' }));
    await runInRequestContext(async () => {
      const first = cachedInRequest('getTitle', '42', execute);
      const second = cachedInRequest('getTitle', '42', execute);
      expect(second).toBe(first);
      await first;
      expect(cachedInRequest('getTitle', '42', execute)).toBe(first);
    });
    expect(execute).toHaveBeenCalledTimes(1);
  });

  it('keeps namespaces and keys apart', async () => {
    const execute = vi.fn(async () => 1);
    await runInRequestContext(async () => {
      await Promise.all([
        cachedInRequest('getTitle', '42', execute),
        cachedInRequest('getTitle', '43', execute),
        cachedInRequest('getRating', '42', execute),
      ]);
    });
    expect(execute).toHaveBeenCalledTimes(3);
  });

  it('never shares between requests', async () => {
    const execute = vi.fn(async () => 1);
    await Promise.all([
      runInRequestContext(() => cachedInRequest('getTitle', '42', execute)),
      runInRequestContext(() => cachedInRequest('getTitle', '42', execute)),
    ]);
    expect(execute).toHaveBeenCalledTimes(2);
  });

  it('evicts a rejected promise so that a later call retries', async () => {
    const failure = new Error('origin down');
    const execute = vi.fn().mockRejectedValueOnce(failure).mockResolvedValueOnce('ok');
    await runInRequestContext(async () => {
      const first = cachedInRequest<string>('getTitle', '42', execute);
      const joined = cachedInRequest<string>('getTitle', '42', execute);
      await expect(first).rejects.toBe(failure);
      await expect(joined).rejects.toBe(failure);
      await expect(cachedInRequest<string>('getTitle', '42', execute)).resolves.toBe('ok');
    });
    expect(execute).toHaveBeenCalledTimes(2);
  });

  it('turns a synchronous throw into a rejection, and evicts it too', async () => {
    const execute = vi
      .fn<() => Promise<string>>()
      .mockImplementationOnce(() => {
        throw new Error('sync bug');
      })
      .mockResolvedValueOnce('ok');
    await runInRequestContext(async () => {
      await expect(cachedInRequest('getTitle', '42', execute)).rejects.toThrow('sync bug');
      await expect(cachedInRequest('getTitle', '42', execute)).resolves.toBe('ok');
    });
  });

  it('just calls execute outside a request context', async () => {
    const execute = vi.fn(async () => 1);
    await Promise.all([cachedInRequest('getTitle', '42', execute), cachedInRequest('getTitle', '42', execute)]);
    expect(execute).toHaveBeenCalledTimes(2);
  });
});
