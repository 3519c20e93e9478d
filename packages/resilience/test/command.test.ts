import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  type DefineCommandOptions,
  type Execution,
  isAbortedError,
  isCircuitOpenError,
  isFallbackFailedError,
  isRejectedError,
  isTimeoutError,
  markRetryable,
} from '../src/index.js';
import { define, registry } from './helpers.js';

const fail = (message = 'boom') => Promise.reject(new Error(message));

describe('defineCommand: run and result', () => {
  it('runs with the call arguments and resolves with the result', async () => {
    const add = define({ key: 'add', run: (_e, a: number, b: number) => a + b });
    await expect(add(2, 3)).resolves.toBe(5);
    expect(add.key).toBe('add');
    expect(add.group).toBe('add');
    expect(add.metrics().counts.success).toBe(1);
  });

  it('passes run errors through unchanged when there is no fallback', async () => {
    const failure = new Error('origin said no');
    const command = define({ key: 'c', run: () => Promise.reject(failure) });
    await expect(command()).rejects.toBe(failure);
    const { counts } = command.metrics();
    expect(counts.failure).toBe(1);
    expect(counts.fallbackMissing).toBe(1);
    expect(counts.exceptionThrown).toBe(1);
  });

  it('turns a synchronous throw into a failure', async () => {
    const command = define({
      key: 'sync-throw',
      run: () => {
        throw new Error('sync');
      },
      fallback: ({ reason, error }) => `${reason}:${(error as Error).message}`,
    });
    await expect(command()).resolves.toBe('failure:sync');
  });
});

describe('timeout', () => {
  it('defaults to 1000 ms, as Hystrix', () => {
    expect(define({ key: 't', run: () => 1 }).metrics().settings.timeoutMs).toBe(1000);
  });

  it('times out, aborts the execution signal, and falls back with reason "timeout"', async () => {
    let seen: AbortSignal | undefined;
    const command = define<[], { reason: string; timedOut: boolean }>({
      key: 'slow',
      timeoutMs: 20,
      run: ({ signal }) => {
        seen = signal;
        return sleep(5_000, { reason: 'none', timedOut: false }, { signal });
      },
      fallback: ({ reason, error }) => ({ reason, timedOut: isTimeoutError(error) }),
    });
    await expect(command()).resolves.toEqual({ reason: 'timeout', timedOut: true });
    expect(seen?.aborted).toBe(true);
    expect(isTimeoutError(seen?.reason)).toBe(true);
    expect(command.metrics().counts.timeout).toBe(1);
  });

  it('rejects with TimeoutError naming the command without a fallback', async () => {
    const command = define({ key: 'catalog.slow', timeoutMs: 10, run: ({ signal }) => sleep(5_000, 1, { signal }) });
    const error = await command().catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as Error).message).toBe("command 'catalog.slow' timed out after 10 ms");
  });

  it('can be switched off', async () => {
    const command = define({ key: 'no-timeout', timeoutMs: false, run: () => sleep(30, 'done') });
    await expect(command()).resolves.toBe('done');
  });

  it('creates the execution signal only when run reads it', async () => {
    const executions: Execution[] = [];
    const command = define({ key: 'lazy', run: (execution) => executions.push(execution) });
    await command();
    expect(executions[0]?.attempt).toBe(1);
    expect(executions[0]?.signal.aborted).toBe(false);
  });
});

describe('caller signal', () => {
  it('rejects with AbortedError and aborts the execution when the caller gives up', async () => {
    let seen: AbortSignal | undefined;
    const command = define({
      key: 'abortable',
      run: ({ signal }) => {
        seen = signal;
        return sleep(5_000, 1, { signal });
      },
      fallback: () => 0,
    });
    const caller = new AbortController();
    const pending = command.execute({ signal: caller.signal });
    caller.abort(new Error('client went away'));
    const error = await pending.catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect(seen?.aborted).toBe(true);
    const { counts } = command.metrics();
    expect(counts.cancelled).toBe(1);
    expect(counts.fallbackSuccess).toBe(0); // the caller is gone: no fallback
  });

  it('does not run at all when the signal is already aborted', async () => {
    let ran = false;
    const command = define({ key: 'pre-aborted', run: () => (ran = true) });
    expect(isAbortedError(await command.execute({ signal: AbortSignal.abort() }).catch((e: unknown) => e))).toBe(true);
    expect(ran).toBe(false);
  });
});

describe('circuit breaker (Hystrix semantics)', () => {
  const breakerCommand = (key: string, extra: Partial<DefineCommandOptions<[boolean], string>> = {}) =>
    define<[boolean], string>({
      key,
      run: (_e, ok) => (ok ? 'ok' : fail()),
      fallback: ({ reason }) => reason,
      circuitBreaker: { sleepWindowMs: 60 },
      ...extra,
    });

  it('uses the Hystrix defaults', () => {
    expect(define({ key: 'd', run: () => 1 }).metrics().settings.circuitBreaker).toEqual({
      enabled: true,
      requestVolumeThreshold: 20,
      errorThresholdPercentage: 50,
      sleepWindowMs: 5000,
      forceOpen: false,
      forceClosed: false,
    });
  });

  it('stays closed below the request volume threshold, even at 100 % errors', async () => {
    const command = breakerCommand('volume');
    for (let i = 0; i < 19; i++) await command(false);
    expect(command.circuitState).toBe('closed');
    expect(command.metrics().health).toEqual({ totalRequests: 19, errorCount: 19, errorPercentage: 100 });
  });

  it('opens at exactly 50 % errors over 20 requests, not at 45 %', async () => {
    const below = breakerCommand('below');
    for (let i = 0; i < 11; i++) await below(true);
    for (let i = 0; i < 9; i++) await below(false);
    expect(below.metrics().health.errorPercentage).toBe(45);
    expect(below.circuitState).toBe('closed');

    const at = breakerCommand('at');
    for (let i = 0; i < 10; i++) await at(true);
    for (let i = 0; i < 9; i++) await at(false);
    expect(at.circuitState).toBe('closed');
    await at(false); // 20 requests, 10 errors: 50 %
    expect(at.circuitState).toBe('open');
  });

  it('short-circuits while open, without running, and falls back with reason "short-circuited"', async () => {
    let runs = 0;
    const command = define<[], string>({
      key: 'open',
      run: () => {
        runs++;
        return fail();
      },
      fallback: ({ reason, error }) => `${reason}:${isCircuitOpenError(error)}`,
      circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 10_000 },
    });
    await command();
    await command();
    expect(command.circuitState).toBe('open');
    await expect(command()).resolves.toBe('short-circuited:true');
    expect(runs).toBe(2);
    const { counts, health } = command.metrics();
    expect(counts.shortCircuited).toBe(1);
    expect(health.totalRequests).toBe(2); // short-circuits are not in the health counts
  });

  it('lets exactly one trial through when half-open, and closes when it succeeds', async () => {
    let healthy = false;
    let release: () => void = () => {};
    let trials = 0;
    const command = define<[], string>({
      key: 'half-open',
      run: () => {
        if (!healthy) return fail();
        trials++;
        return new Promise<string>((resolve) => {
          release = () => resolve('ok');
        });
      },
      fallback: ({ reason }) => reason,
      circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 50 },
    });
    await command();
    await command();
    expect(command.circuitState).toBe('open');
    await sleep(80);
    expect(command.circuitState).toBe('half-open');
    healthy = true;
    const trial = command();
    const others = await Promise.all(Array.from({ length: 10 }, () => command()));
    expect(others).toEqual(Array(10).fill('short-circuited'));
    expect(trials).toBe(1);
    release();
    await expect(trial).resolves.toBe('ok');
    expect(command.circuitState).toBe('closed');
    expect(command.metrics().health.totalRequests).toBe(0); // reset on close, as Hystrix
  });

  it('opens again when the half-open trial fails', async () => {
    const command = breakerCommand('trial-fails', { circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 40 } });
    await command(false);
    await command(false);
    await sleep(60);
    expect(command.circuitState).toBe('half-open');
    await expect(command(false)).resolves.toBe('failure');
    expect(command.circuitState).toBe('open');
    await expect(command(true)).resolves.toBe('short-circuited');
  });

  it('counts timeouts as errors', async () => {
    const command = define({
      key: 'timeouts-trip',
      timeoutMs: 5,
      run: ({ signal }) => sleep(1000, 1, { signal }),
      fallback: () => 0,
      circuitBreaker: { requestVolumeThreshold: 3 },
    });
    for (let i = 0; i < 3; i++) await command();
    expect(command.circuitState).toBe('open');
  });

  it('counts calls slower than slowCallThresholdMs as failures, but still answers them', async () => {
    const command = define({
      key: 'slow-calls',
      slowCallThresholdMs: 15,
      run: () => sleep(25, 'slow but fine'),
      circuitBreaker: { requestVolumeThreshold: 3 },
    });
    for (let i = 0; i < 3; i++) await expect(command()).resolves.toBe('slow but fine');
    expect(command.circuitState).toBe('open');
  });

  it('never trips on bad requests, and does not fall back for them', async () => {
    let fallbacks = 0;
    const command = define({
      key: 'bad-requests',
      run: () => Promise.reject(new BadRequestError('profileId is required')),
      fallback: () => {
        fallbacks++;
        return 'fallback';
      },
      circuitBreaker: { requestVolumeThreshold: 2 },
    });
    for (let i = 0; i < 50; i++) await expect(command()).rejects.toThrow('profileId is required');
    expect(command.circuitState).toBe('closed');
    expect(fallbacks).toBe(0);
    const { counts, health } = command.metrics();
    expect(counts.badRequest).toBe(50);
    expect(health.totalRequests).toBe(0);
  });

  it('supports forceOpen and forceClosed', async () => {
    const open = breakerCommand('force-open', { circuitBreaker: { forceOpen: true } });
    await expect(open(true)).resolves.toBe('short-circuited');
    const closed = breakerCommand('force-closed', { circuitBreaker: { forceClosed: true, requestVolumeThreshold: 1 } });
    for (let i = 0; i < 5; i++) await closed(false);
    expect(closed.circuitState).toBe('closed');
  });
});

describe('bulkhead', () => {
  it('defaults to 10 concurrent per group and rejects the 11th at once', async () => {
    const gates: (() => void)[] = [];
    const command = define({
      key: 'bulk',
      timeoutMs: false,
      run: () => new Promise<string>((resolve) => gates.push(() => resolve('ran'))),
      fallback: ({ reason, error }) => `${reason}:${isRejectedError(error)}`,
    });
    const running = Array.from({ length: 10 }, () => command());
    await expect(command()).resolves.toBe('rejected:true');
    for (const open of gates) open();
    expect(await Promise.all(running)).toEqual(Array(10).fill('ran'));
    expect(command.metrics().counts.rejected).toBe(1);
  });

  it('is shared by the commands of a group', async () => {
    const gates: (() => void)[] = [];
    const options = {
      group: 'catalog',
      bulkhead: { maxConcurrent: 2 },
      timeoutMs: false as const,
      run: () => new Promise<number>((resolve) => gates.push(() => resolve(1))),
    };
    const a = define({ key: 'catalog.a', ...options });
    const b = define({ key: 'catalog.b', ...options });
    const running = [a(), b()];
    expect(isRejectedError(await a().catch((e: unknown) => e))).toBe(true);
    for (const open of gates) open();
    await Promise.all(running);
    expect(registry.groupMetrics()).toEqual([
      expect.objectContaining({ group: 'catalog', kind: 'bulkhead', limit: 2, active: 0, rejected: 1, completed: 2 }),
    ]);
  });

  it('refuses conflicting bulkhead settings within one group', () => {
    define({ key: 'g.a', group: 'g', bulkhead: { maxConcurrent: 2 }, run: () => 1 });
    expect(() => define({ key: 'g.b', group: 'g', bulkhead: { maxConcurrent: 3 }, run: () => 1 })).toThrow(
      /group 'g' already has isolation/,
    );
  });

  it('queues up to maxQueue, in order, and rejects beyond', async () => {
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const command = define({
      key: 'queued',
      timeoutMs: false,
      bulkhead: { maxConcurrent: 1, maxQueue: 2 },
      run: (_e, n: number) =>
        new Promise<number>((resolve) => {
          order.push(n);
          gates.push(() => resolve(n));
        }),
    });
    const calls = [command(1), command(2), command(3)];
    expect(isRejectedError(await command(4).catch((e: unknown) => e))).toBe(true);
    while (order.length < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    }
    gates.shift()?.();
    expect(await Promise.all(calls)).toEqual([1, 2, 3]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('never exceeds its limit under 10,000 concurrent calls', async () => {
    let active = 0;
    let peak = 0;
    const command = define({
      key: 'stress',
      timeoutMs: false,
      bulkhead: { maxConcurrent: 25, maxQueue: 1000 },
      run: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setImmediate(resolve));
        active--;
        return 1;
      },
      fallback: () => 0,
    });
    const results = await Promise.all(Array.from({ length: 10_000 }, () => command()));
    expect(peak).toBe(25);
    const served = results.filter((r) => r === 1).length;
    const { counts } = command.metrics();
    expect(served + counts.rejected).toBe(10_000);
    expect(served).toBeGreaterThanOrEqual(1025);
    expect(registry.groupMetrics()[0]).toMatchObject({ active: 0, queued: 0, largestActive: 25 });
  });

  it('holds the slot of a timed-out call until its work settles, then releases it', async () => {
    let finishWork: () => void = () => {};
    const command = define({
      key: 'held',
      timeoutMs: 10,
      bulkhead: { maxConcurrent: 1 },
      run: () =>
        new Promise<string>((resolve) => {
          finishWork = () => resolve('late');
        }),
      fallback: ({ reason }) => reason,
    });
    await expect(command()).resolves.toBe('timeout');
    await expect(command()).resolves.toBe('rejected'); // the first call's work still runs
    finishWork();
    await new Promise((resolve) => setImmediate(resolve));
    expect(registry.groupMetrics()[0]?.active).toBe(0);
  });

  it('releases the slot of a call whose caller aborted, once its work stops', async () => {
    const command = define({
      key: 'abort-release',
      bulkhead: { maxConcurrent: 1 },
      run: ({ signal }) => sleep(10_000, 1, { signal }),
    });
    const caller = new AbortController();
    const pending = command.execute({ signal: caller.signal });
    caller.abort();
    await pending.catch(() => {});
    await expect.poll(() => registry.groupMetrics()[0]?.active).toBe(0);
  });

  it('gives up a place in the queue when the caller aborts while waiting', async () => {
    let open: () => void = () => {};
    const command = define({
      key: 'queue-abort',
      timeoutMs: false,
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      run: () =>
        new Promise<number>((resolve) => {
          open = () => resolve(1);
        }),
    });
    const first = command();
    const caller = new AbortController();
    const waiting = command.execute({ signal: caller.signal });
    caller.abort();
    expect(isAbortedError(await waiting.catch((e: unknown) => e))).toBe(true);
    expect(registry.groupMetrics()[0]?.queued).toBe(0);
    open();
    await first;
  });
});

describe('fallback', () => {
  it('receives the reason, the error and the call arguments', async () => {
    const failure = new Error('down');
    const command = define({
      key: 'fb',
      run: (_e, _id: string) => Promise.reject(failure),
      fallback: (f, id) => ({ ...f, id }),
    });
    await expect(command('80100172')).resolves.toEqual({
      reason: 'failure',
      error: failure,
      command: 'fb',
      id: '80100172',
    });
    expect(command.metrics().counts.fallbackSuccess).toBe(1);
  });

  it('reports a failing fallback as FallbackFailedError with both errors', async () => {
    const command = define({
      key: 'fb-fails',
      run: () => fail('primary down'),
      fallback: () => {
        throw new Error('cache down too');
      },
    });
    const error = await command().catch((e: unknown) => e);
    expect(isFallbackFailedError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "command 'fb-fails' failed (primary down) and so did its fallback (cache down too)",
    );
    expect((error as { original: Error }).original.message).toBe('primary down');
    expect(((error as Error).cause as Error).message).toBe('cache down too');
    expect(command.metrics().counts.fallbackFailure).toBe(1);
  });
});

describe('retry', () => {
  it('retries retryable errors with backoff until success', async () => {
    let calls = 0;
    const command = define({
      key: 'retry-ok',
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      run: ({ attempt }) => {
        calls++;
        return attempt < 3 ? Promise.reject(markRetryable(new Error('busy'))) : Promise.resolve(`attempt ${attempt}`);
      },
    });
    await expect(command()).resolves.toBe('attempt 3');
    expect(calls).toBe(3);
    expect(command.metrics().counts.retry).toBe(2);
  });

  it('does not retry errors not marked retryable', async () => {
    let calls = 0;
    const command = define({
      key: 'retry-no',
      retry: { maxAttempts: 5, baseDelayMs: 1 },
      run: () => {
        calls++;
        return fail();
      },
      fallback: () => 'fb',
    });
    await expect(command()).resolves.toBe('fb');
    expect(calls).toBe(1);
  });

  it('caps amplification with the retry budget', async () => {
    let attempts = 0;
    const command = define({
      key: 'retry-budget',
      timeoutMs: false,
      bulkhead: { maxConcurrent: 1000 },
      circuitBreaker: { enabled: false },
      retry: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, budget: { ratio: 0.1, minRetriesPerSecond: 0 } },
      run: () => {
        attempts++;
        return Promise.reject(markRetryable(new Error('outage')));
      },
      fallback: () => 'degraded',
    });
    const results = await Promise.all(Array.from({ length: 1000 }, () => command()));
    expect(results.every((r) => r === 'degraded')).toBe(true);
    // Without a budget: 3000 attempts. With ratio 0.1: at most 100 retries.
    expect(attempts - 1000).toBeLessThanOrEqual(100);
    expect(attempts - 1000).toBeGreaterThan(0);
    expect(command.metrics().counts.retryBudgetExhausted).toBeGreaterThan(0);
  });
});

describe('hedged requests', () => {
  it('fires a second attempt after the p-th percentile latency, takes the first success, aborts the other', async () => {
    let slowSignal: AbortSignal | undefined;
    let call = 0;
    const command = define({
      key: 'hedged',
      timeoutMs: 2000,
      hedge: { percentile: 90, minSamples: 5, minDelayMs: 1 },
      run: ({ signal, hedge }) => {
        call++;
        if (call <= 5) return sleep(2, 'warm');
        if (!hedge) {
          slowSignal = signal;
          return sleep(1500, 'slow primary', { signal });
        }
        return sleep(2, 'fast hedge');
      },
    });
    for (let i = 0; i < 5; i++) await command();
    await expect(command()).resolves.toBe('fast hedge');
    expect(slowSignal?.aborted).toBe(true);
    const { counts } = command.metrics();
    expect(counts.hedge).toBe(1);
    expect(counts.cancelled).toBe(1);
    expect(command.circuitState).toBe('closed');
  });
});

describe('options', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ key: '', run: () => 1 }, 'key must not be empty'],
    [{ key: 'x' }, 'run must be a function'],
    [{ key: 'x', run: () => 1, timeoutMs: 0 }, 'timeoutMs must be between 1 and 3600000'],
    [
      { key: 'x', run: () => 1, circuitBreaker: { errorThresholdPercentage: 150 } },
      'errorThresholdPercentage must be between 1 and 100',
    ],
    [
      { key: 'x', run: () => 1, bulkhead: { maxConcurrent: 0 } },
      'bulkhead.maxConcurrent must be between 1 and 1000000',
    ],
    [{ key: 'x', run: () => 1, retry: { budget: { ratio: 2 } } }, 'retry.budget.ratio must be between 0 and 1'],
    [{ key: 'x', run: () => 1, hedge: { percentile: 10 } }, 'hedge.percentile must be between 50 and 99.9'],
    [{ key: 'x', run: () => 1, logger: console.log }, 'logger must have info() and warn() methods'],
    [{ key: 'x', run: () => 1, circuitBreaker: { sleepWindow: 5 } }, 'sleepWindow'],
  ])('rejects %j at definition time, naming the option', (options, message) => {
    expect(() => define(options as never)).toThrow(message);
  });

  it('refuses two commands with one key in a registry', () => {
    define({ key: 'dup', run: () => 1 });
    expect(() => define({ key: 'dup', run: () => 1 })).toThrow(/already defined in this registry/);
  });
});

describe('logging', () => {
  it('logs state changes at info and failures at warn, never successes', async () => {
    const lines: { level: string; object: Record<string, unknown>; message: string }[] = [];
    const logger = {
      info: (object: Record<string, unknown>, message: string) => lines.push({ level: 'info', object, message }),
      warn: (object: Record<string, unknown>, message: string) => lines.push({ level: 'warn', object, message }),
    };
    const command = define<[boolean], number>({
      key: 'logged',
      logger,
      run: (_e, ok) => (ok ? 1 : fail()),
      fallback: () => 0,
      circuitBreaker: { requestVolumeThreshold: 2 },
    });
    await command(true);
    expect(lines).toEqual([]);
    await command(false); // 2 requests, 50 % errors: the circuit opens
    await command(false); // short-circuited: not a failure of the dependency, not logged
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual(['warn command failed', 'info circuit open']);
    expect(lines[0]?.object).toMatchObject({ command: 'logged', reason: 'failure' });
    expect(lines[1]?.object).toMatchObject({ command: 'logged', circuit: 'open' });
  });
});

describe('resources', () => {
  it('leaks no timers, listeners or memory over 100,000 calls', async () => {
    const caller = new AbortController();
    const command = define({ key: 'leaks', run: async (_e, n: number) => n, fallback: () => -1 });
    const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    for (let i = 0; i < 1000; i++) await command.execute({ signal: caller.signal }, i);
    const before = { timers: handles(), heap: heap() };
    for (let i = 0; i < 100_000; i++) await command.execute({ signal: caller.signal }, i);
    await sleep(1100); // let the deadline queue's timer pass the last deadline
    expect(handles()).toBeLessThanOrEqual(before.timers);
    // Each call registered and removed an abort listener on the one caller signal.
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(heap() - before.heap).toBeLessThan(8 * 1024 * 1024);
    expect(command.metrics().counts.success).toBeGreaterThan(0);
  });
});
