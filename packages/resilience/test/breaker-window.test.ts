import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRegistry, defineCommand } from '../src/index.js';

let registry = new CommandRegistry();
afterEach(() => {
  registry.clear();
  registry = new CommandRegistry();
});

let sequence = 0;
const breakerCommand = (requestVolumeThreshold = 20, errorThresholdPercentage = 50) =>
  defineCommand<[boolean], string>({
    key: `window-${sequence++}`,
    registry,
    run: (_e, ok) => (ok ? 'ok' : Promise.reject(new Error('down'))),
    fallback: ({ reason }) => reason,
    circuitBreaker: { requestVolumeThreshold, errorThresholdPercentage, sleepWindowMs: 60_000 },
  });

/** The rule, stated once: what the circuit must do after each outcome, events in any order. */
function model(outcomes: readonly boolean[], volume: number, threshold: number) {
  let successes = 0;
  let errors = 0;
  let open = false;
  let shortCircuited = 0;
  for (const ok of outcomes) {
    if (open) {
      shortCircuited++;
      continue;
    }
    if (ok) successes++;
    else errors++;
    const total = successes + errors;
    if (total >= volume && Math.trunc((errors / total) * 100) >= threshold) open = true;
  }
  return { open, shortCircuited };
}

describe('the breaker evaluates its window on every completion, whatever the order of events', () => {
  it('opens after 10 failures then 10 successes (20 requests at 50 %)', async () => {
    const command = breakerCommand();
    for (let i = 0; i < 10; i++) await command(false);
    expect(command.circuitState).toBe('closed'); // 10 requests: below the volume threshold
    for (let i = 0; i < 9; i++) await command(true);
    expect(command.circuitState).toBe('closed'); // 19 requests
    await expect(command(true)).resolves.toBe('ok'); // the 20th request completes the window…
    expect(command.circuitState).toBe('open'); // …at 50 %: open
    await expect(command(true)).resolves.toBe('short-circuited');
  });

  it('opens after 10 successes then 10 failures', async () => {
    const command = breakerCommand();
    for (let i = 0; i < 10; i++) await command(true);
    for (let i = 0; i < 10; i++) await command(false);
    expect(command.circuitState).toBe('open');
  });

  it('does not stay closed while successes keep arriving above the threshold', async () => {
    const command = breakerCommand(20, 50);
    for (let i = 0; i < 15; i++) await command(false);
    let served = 0;
    for (let i = 0; i < 50; i++) if ((await command(true)) === 'ok') served++;
    // 15 errors over 20 requests is 75 %: open at the 5th success, then short-circuits.
    expect(served).toBe(5);
    expect(command.circuitState).toBe('open');
  });

  it('opens iff the window holds ≥ volume requests at ≥ threshold % errors, at every step (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 100 }),
        async (outcomes, volume, threshold) => {
          const command = breakerCommand(volume, threshold);
          for (const ok of outcomes) await command(ok);
          const expected = model(outcomes, volume, threshold);
          expect(command.circuitState).toBe(expected.open ? 'open' : 'closed');
          expect(command.metrics().counts.shortCircuited).toBe(expected.shortCircuited);
          command.dispose();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ends open for every order of one multiset of outcomes that meets the rule (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 100 }),
        fc.infiniteStream(fc.integer()),
        async (successes, errors, threshold, shuffle) => {
          const total = successes + errors;
          fc.pre(total >= 1 && Math.trunc((errors / total) * 100) >= threshold);
          const outcomes = [...Array<boolean>(successes).fill(true), ...Array<boolean>(errors).fill(false)];
          const keys = [...shuffle.take(total)];
          const order = outcomes.map((ok, i) => ({ ok, k: keys[i] ?? 0 })).sort((a, b) => a.k - b.k);
          const command = breakerCommand(total, threshold);
          for (const { ok } of order) await command(ok);
          expect(command.circuitState).toBe('open');
          command.dispose();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('half-open: a trial that ends in a bad request', () => {
  it('gives the trial back (a bad request says nothing of the dependency): exactly one next trial among 50 callers', async () => {
    let mode: 'down' | 'bad' | 'slow-ok' = 'down';
    let trials = 0;
    let release: () => void = () => {};
    const command = defineCommand<[], string>({
      key: 'bad-trial',
      registry,
      run: () => {
        if (mode === 'down') return Promise.reject(new Error('down'));
        trials++;
        if (mode === 'bad') return Promise.reject(Object.assign(new Error('no such title'), { status: 404 }));
        return new Promise<string>((resolve) => {
          release = () => resolve('ok');
        });
      },
      isBadRequest: (error) => (error as { status?: number }).status === 404,
      fallback: ({ reason }) => reason,
      circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 30 },
    });
    await command();
    await command();
    expect(command.circuitState).toBe('open');
    await expect.poll(() => command.circuitState, { timeout: 2000 }).toBe('half-open');

    mode = 'bad';
    await expect(command()).rejects.toThrow('no such title'); // the trial: passed through, no fallback
    expect(command.circuitState).toBe('half-open'); // neither closed nor re-opened

    mode = 'slow-ok';
    const callers = Array.from({ length: 50 }, () => command());
    release();
    const answers = await Promise.all(callers);
    expect(answers.filter((a) => a === 'ok')).toHaveLength(1);
    expect(answers.filter((a) => a === 'short-circuited')).toHaveLength(49);
    expect(trials).toBe(2); // the bad-request trial, then exactly one more
    expect(command.circuitState).toBe('closed');
  });
});
