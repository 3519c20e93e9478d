import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  type CommandPolicies,
  type CommandPoliciesOptions,
  defineCommandPolicies,
  isCircuitOpenError,
  isRejectedError,
  isTimeoutError,
} from '../src/index.js';
import { define, registry } from './helpers.js';

/** Waits until `check` holds (polling), failing after 5 s: no test depends on how fast a timer fires. */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 5000) throw new Error('condition not met in 5 s');
    await sleep(5);
  }
}

const policiesOf = (options: CommandPoliciesOptions) => defineCommandPolicies({ registry, ...options });

/**
 * Runs `work` through the three parts in Hystrix's order (breaker, then
 * isolation, then the timed execution), the way a caller composes them.
 */
async function guarded<T>(policies: CommandPolicies, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const refused = policies.breaker.admit();
  if (refused) throw refused;
  const permit = policies.isolation.acquire();
  if (isRejectedError(permit)) {
    policies.breaker.record(permit);
    throw permit;
  }
  const controller = new AbortController();
  const execution = policies.timeout.start({ onTimeout: (error) => controller.abort(error) });
  let outcome: unknown;
  try {
    const value = await Promise.race([
      work(controller.signal),
      new Promise<never>((_, reject) =>
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
      ),
    ]);
    execution.succeeded();
    return value;
  } catch (error) {
    outcome = error;
    execution.failed(error);
    throw error;
  } finally {
    policies.isolation.release(permit, outcome);
    policies.breaker.record(outcome);
  }
}

type Step = 'ok' | 'fail' | 'bad';
const work = (step: Step) => () =>
  step === 'ok'
    ? Promise.resolve('v')
    : Promise.reject(step === 'bad' ? new BadRequestError('caller') : new Error('dependency failed'));

describe('defineCommandPolicies', () => {
  it('counts like the command it splits: the same events for any run of successes, failures and bad requests (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Step>('ok', 'fail', 'bad'), { maxLength: 40 }), async (steps) => {
        n++;
        const breaker = { requestVolumeThreshold: 5, sleepWindowMs: 60_000 };
        const command = define({ key: `command-${n}`, circuitBreaker: breaker, run: (_e, step: Step) => work(step)() });
        const policies = policiesOf({ key: `policies-${n}`, circuitBreaker: breaker });
        for (const step of steps) {
          const viaCommand = await command(step).then(
            () => 'ok',
            (error: unknown) => (isCircuitOpenError(error) ? 'open' : 'failed'),
          );
          const viaPolicies = await guarded(policies, work(step)).then(
            () => 'ok',
            (error: unknown) => (isCircuitOpenError(error) ? 'open' : 'failed'),
          );
          expect(viaPolicies).toBe(viaCommand);
        }
        expect(policies.metrics().cumulativeCounts).toEqual(command.metrics().cumulativeCounts);
        expect(policies.circuitState).toBe(command.circuitState);
        expect(policies.metrics().concurrency.current).toBe(0);
        command.dispose();
        policies.dispose();
      }),
      { numRuns: 60 },
    );
  });

  it('times out an execution: the listener gets the TimeoutError, later outcomes are ignored, the breaker counts it as a failure', async () => {
    const policies = policiesOf({
      key: 'slow',
      timeoutMs: 20,
      circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 60_000 },
    });
    for (let i = 0; i < 2; i++) {
      const error = await guarded(policies, () => sleep(10_000, 'late', { ref: false })).catch((e: unknown) => e);
      expect(isTimeoutError(error)).toBe(true);
    }
    const counts = policies.metrics().cumulativeCounts;
    expect(counts.timeout).toBe(2);
    expect(counts.success + counts.failure).toBe(0);
    expect(policies.circuitState).toBe('open');
    const refused = await guarded(policies, () => Promise.resolve('never run')).catch((e: unknown) => e);
    expect(isCircuitOpenError(refused)).toBe(true);
    expect(policies.metrics().cumulativeCounts.shortCircuited).toBe(1);

    // An execution decided by its deadline records nothing more.
    const listener = { error: undefined as unknown, onTimeout: (error: unknown) => (listener.error = error) };
    const execution = policies.timeout.start(listener);
    await until(() => execution.settled);
    expect(isTimeoutError(listener.error)).toBe(true);
    expect(execution.settled).toBe(true);
    expect(execution.succeeded()).toBe(false);
    expect(execution.failed(new Error('late'))).toBe(false);
    expect(policies.metrics().cumulativeCounts.timeout).toBe(3);
  });

  it('rejects over the bulkhead without waiting, counting the rejection; the slot comes back with the outcome', async () => {
    const policies = policiesOf({ key: 'narrow', bulkhead: { maxConcurrent: 1 } });
    const first = policies.isolation.acquire();
    expect(isRejectedError(first)).toBe(false);
    const second = policies.isolation.acquire();
    expect(isRejectedError(second)).toBe(true);
    expect(policies.metrics().cumulativeCounts.rejected).toBe(1);
    expect(registry.groupMetrics().find((g) => g.group === 'narrow')?.rejected).toBe(1);
    if (!isRejectedError(first)) policies.isolation.release(first);
    expect(isRejectedError(policies.isolation.acquire())).toBe(false);
  });

  it('joins its registry under its key, leaves it on dispose, and refuses bad options naming the field', () => {
    const policies = policiesOf({ key: 'listed' });
    expect(registry.commandMetrics().map((m) => m.key)).toContain('listed');
    policies.dispose();
    expect(registry.has('listed')).toBe(false);
    expect(() => policiesOf({ key: 'bad', timeoutMs: -1 })).toThrow(/defineCommandPolicies 'bad'.*timeoutMs/s);
    expect(() => policiesOf({ key: 'bad', run: () => 1 } as unknown as CommandPoliciesOptions)).toThrow(
      /defineCommandPolicies 'bad'.*run/s,
    );
  });
});
