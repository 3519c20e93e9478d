import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AbortedError, isAbortedError, isTimeoutError, TimeoutError, withTimeout } from '../src/index.js';

describe('withTimeout', () => {
  it('returns the result of an operation that settles in time', async () => {
    await expect(withTimeout(async () => 42, { timeoutMs: 1000 })).resolves.toBe(42);
  });

  it('accepts synchronous operations', async () => {
    await expect(withTimeout(() => 'sync', { timeoutMs: 1000 })).resolves.toBe('sync');
  });

  it('passes through the operation error unchanged', async () => {
    const failure = new Error('origin said no');
    await expect(
      withTimeout(
        async () => {
          throw failure;
        },
        { timeoutMs: 1000 },
      ),
    ).rejects.toBe(failure);
  });

  it('rejects with TimeoutError and aborts the signal handed to the operation', async () => {
    let seen: AbortSignal | undefined;
    const error = await withTimeout(
      (signal) => {
        seen = signal;
        return sleep(10_000, undefined, { signal });
      },
      { timeoutMs: 20 },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).code).toBe('BACKLOT_TIMEOUT');
    expect((error as TimeoutError).timeoutMs).toBe(20);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it('stops a real HTTP request when the budget runs out', async () => {
    const { createServer } = await import('node:http');
    let closedByClient = false;
    const server = createServer((req) => {
      req.socket.on('close', () => {
        closedByClient = true;
      });
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const error = await withTimeout((signal) => fetch(`http://127.0.0.1:${port}/slow`, { signal }), {
        timeoutMs: 50,
      }).catch((e: unknown) => e);
      expect(isTimeoutError(error)).toBe(true);
      await expect.poll(() => closedByClient).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("rejects with AbortedError when the caller's signal aborts", async () => {
    const caller = new AbortController();
    const pending = withTimeout((signal) => sleep(10_000, undefined, { signal }), {
      timeoutMs: 5000,
      signal: caller.signal,
    });
    caller.abort(new Error('client went away'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(isAbortedError(error)).toBe(true);
    expect(isTimeoutError(error)).toBe(false);
    expect((error as AbortedError).cause).toEqual(new Error('client went away'));
  });

  it('does not start the operation when the caller signal is already aborted', async () => {
    let started = false;
    const error = await withTimeout(
      () => {
        started = true;
      },
      { timeoutMs: 100, signal: AbortSignal.abort() },
    ).catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect(started).toBe(false);
  });

  it.each([
    [{ timeoutMs: 0 }, 'timeoutMs must be greater than 0'],
    [{ timeoutMs: 1.5 }, 'timeoutMs must be a whole number'],
    [{ timeoutMs: '100' }, 'timeoutMs must be a number of milliseconds'],
    [{ timeoutMs: 10, signal: {} }, 'signal must be an AbortSignal'],
  ])('rejects bad options %j with a message naming the field', async (options, message) => {
    await expect(withTimeout(() => 1, options as never)).rejects.toThrow(message);
  });

  it('recognises errors by brand, not only instanceof', () => {
    const foreign = Object.assign(new Error('x'), { code: 'BACKLOT_TIMEOUT' });
    expect(isTimeoutError(foreign)).toBe(false);
    expect(isTimeoutError(new TimeoutError(5))).toBe(true);
  });
});
