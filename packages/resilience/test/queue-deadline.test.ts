import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRegistry, type DefineCommandOptions, defineCommand, isTimeoutError } from '../src/index.js';

let registry = new CommandRegistry();
afterEach(() => {
  registry.clear();
  registry = new CommandRegistry();
});

const define = <A extends unknown[], R>(options: DefineCommandOptions<A, R>) => defineCommand({ registry, ...options });
/** Resolves with `'still pending'` if `promise` has not settled after `ms` (a hang detector, not a timing check). */
const orPending = <T>(promise: Promise<T>, ms = 3000) =>
  Promise.race([promise, sleep(ms, 'still pending' as const, { ref: false })]);

describe('the caller deadline covers the bulkhead queue (Hystrix: the timeout starts before the queue)', () => {
  it('times out a call queued behind a dependency that never settles, and falls back with reason "timeout"', async () => {
    let runs = 0;
    const command = define({
      key: 'queued-behind-hang',
      timeoutMs: 50,
      bulkhead: { maxConcurrent: 1, maxQueue: 5 },
      run: () => {
        runs++;
        return new Promise<string>(() => {}); // never settles, ignores its signal
      },
      fallback: ({ reason, error }) => `${reason}:${isTimeoutError(error)}`,
    });
    const first = command();
    const queued = command();
    await expect(orPending(first)).resolves.toBe('timeout:true');
    await expect(orPending(queued)).resolves.toBe('timeout:true');
    expect(runs).toBe(1); // the queued call never got a slot, and never ran
    const { counts } = command.metrics();
    expect(counts.timeout).toBe(2);
    expect(counts.fallbackSuccess).toBe(2);
    expect(registry.groupMetrics()[0]).toMatchObject({ active: 1, queued: 0 });
  });

  it('rejects with TimeoutError when a queued call has no fallback', async () => {
    const command = define({
      key: 'queued-no-fallback',
      timeoutMs: 20,
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      run: () => new Promise<string>(() => {}),
    });
    void command().catch(() => {});
    const error = await orPending(command().catch((e: unknown) => e));
    expect(isTimeoutError(error)).toBe(true);
    expect((error as Error).message).toContain('queued-no-fallback');
  });

  it('answers a queued call with its fallback, not the late result, when the running work ignores its signal', async () => {
    const started: number[] = [];
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const command = define({
      key: 'queued-behind-slow',
      timeoutMs: 30,
      bulkhead: { maxConcurrent: 1, maxQueue: 5 },
      run: (_e, n: number) => {
        started.push(n);
        // Ignores its signal, and ends only once every caller has its answer (event order, not a
        // longer sleep: under load a timer set late in a tick can fire before a shorter one set earlier).
        return finished.then(() => `ran ${n}`);
      },
      fallback: ({ reason }, n) => `${reason} ${n}`,
    });
    const results = await Promise.all([command(1), command(2), command(3)]);
    expect(results).toEqual(['timeout 1', 'timeout 2', 'timeout 3']);
    expect(started).toEqual([1]); // 2 and 3 ran out of time in the queue
    expect(registry.groupMetrics()[0]?.active).toBe(1); // the deaf work still holds its slot
    finish();
    await expect.poll(() => registry.groupMetrics()[0]?.active, { timeout: 2000 }).toBe(0);
  });

  it('runs a queued call that gets its slot in time, and times it out against the deadline set before the queue', async () => {
    let release: () => void = () => {};
    const outcomes: string[] = [];
    const command = define({
      key: 'queued-then-runs',
      timeoutMs: 200,
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      run: (_e, n: number) =>
        n === 1
          ? new Promise<string>((resolve) => {
              release = () => resolve('first');
            })
          : new Promise<string>(() => {}), // the second never settles
      fallback: ({ reason }, n) => `${reason} ${n}`,
    });
    const first = command(1).then((r) => outcomes.push(r));
    const second = command(2).then((r) => outcomes.push(r));
    release();
    await orPending(Promise.all([first, second]));
    expect(outcomes).toEqual(['first', 'timeout 2']);
    expect(command.metrics().counts).toMatchObject({ success: 1, timeout: 1 });
  });

  it('leaves the queue when the caller aborts, before the deadline', async () => {
    const command = define({
      key: 'queued-abort',
      timeoutMs: 5000,
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      run: () => new Promise<string>(() => {}),
      fallback: () => 'fallback',
    });
    void command();
    const caller = new AbortController();
    const waiting = command.execute({ signal: caller.signal });
    caller.abort(new Error('client went away'));
    const error = await orPending(waiting.catch((e: unknown) => e));
    expect((error as { code?: string }).code).toBe('BACKLOT_ABORTED');
    expect(registry.groupMetrics()[0]?.queued).toBe(0);
    expect(command.metrics().counts.timeout).toBe(0);
  });
});

describe('bulkhead with a queue under adversarial work (property)', () => {
  it('never runs more than maxConcurrent at once, and every call answers, whatever the work does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.constantFrom('hang', 'ok', 'fail', 'deaf-slow', 'obedient-slow'), { minLength: 1, maxLength: 20 }),
        async (maxConcurrent, maxQueue, works) => {
          const local = new CommandRegistry();
          let active = 0;
          let peak = 0;
          const command = defineCommand({
            key: 'adversarial',
            registry: local,
            timeoutMs: 20,
            bulkhead: { maxConcurrent, maxQueue },
            run: ({ signal }, work: string) => {
              active++;
              peak = Math.max(peak, active);
              const done = <T>(value: T) => {
                active--;
                return value;
              };
              switch (work) {
                case 'hang':
                  return new Promise<string>(() => {}); // holds its slot forever
                case 'ok':
                  return Promise.resolve(done('ok'));
                case 'fail':
                  return Promise.reject(done(new Error('down')));
                // The slow kinds end only after their deadline, by event order rather than a longer
                // sleep: under load a timer set in a late tick may fire before a shorter one set earlier
                // (timers count from the loop's cached time), and 'late' would win the race.
                case 'deaf-slow':
                  // Ignores its signal: resolves anyway, after the abort that marks the deadline.
                  return new Promise<string>((resolve) =>
                    signal.addEventListener('abort', () => setImmediate(() => resolve(done('late')))),
                  );
                default:
                  // Obedient: rejects with the abort's reason.
                  return new Promise<string>((_, reject) =>
                    signal.addEventListener('abort', () => reject(done(signal.reason))),
                  );
              }
            },
            fallback: ({ reason }) => reason,
          });
          const answers = await orPending(Promise.all(works.map((work) => command(work))), 5000);
          expect(answers).not.toBe('still pending');
          for (const answer of answers as string[]) expect(['ok', 'failure', 'timeout', 'rejected']).toContain(answer);
          expect(peak).toBeLessThanOrEqual(maxConcurrent);
          const group = local.groupMetrics()[0];
          expect(group?.queued).toBe(0);
          expect(group?.largestActive).toBeLessThanOrEqual(maxConcurrent);
          local.clear();
        },
      ),
      { numRuns: 40 },
    );
  });
});
