import OpossumBreaker from 'opossum';
import { describe, expect, it } from 'vitest';
import { type CircuitJsonInput, type DefineCommandOptions, wrapCommand } from '../src/index.js';
import { define, registry } from './helpers.js';

const flaky = (key: string, extra: Partial<DefineCommandOptions<[boolean], string>> = {}) =>
  define<[boolean], string>({
    key,
    run: (_e, ok) => (ok ? 'ok' : Promise.reject(new Error('down'))),
    fallback: ({ reason }) => reason,
    circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 60_000 },
    ...extra,
  });

describe('runtime control (Hystrix dynamic properties, opossum open/close)', () => {
  it('forces the circuit open and releases it', async () => {
    const command = flaky('force-open');
    command.configureCircuit({ forceOpen: true });
    expect(command.circuitState).toBe('open');
    await expect(command(true)).resolves.toBe('short-circuited');
    expect(command.metrics().settings.circuitBreaker.forceOpen).toBe(true);
    command.configureCircuit({ forceOpen: false });
    expect(command.circuitState).toBe('closed');
    await expect(command(true)).resolves.toBe('ok');
  });

  it('forces it closed: failures keep running, the circuit never opens', async () => {
    const command = flaky('force-closed');
    command.configureCircuit({ forceClosed: true });
    for (let i = 0; i < 10; i++) await expect(command(false)).resolves.toBe('failure');
    expect(command.circuitState).toBe('closed');
    // Released, the window (10 errors) meets the rule at once.
    command.configureCircuit({ forceClosed: false });
    expect(command.circuitState).toBe('open');
  });

  it('disables and re-enables the breaker', async () => {
    const command = flaky('disabled');
    command.configureCircuit({ enabled: false });
    for (let i = 0; i < 5; i++) await command(false);
    expect(command.circuitState).toBe('closed');
    command.configureCircuit({ enabled: true });
    expect(command.circuitState).toBe('open');
  });

  it('changes thresholds at run time', async () => {
    const command = flaky('thresholds', { circuitBreaker: { requestVolumeThreshold: 20 } });
    for (let i = 0; i < 5; i++) await command(false);
    expect(command.circuitState).toBe('closed');
    command.configureCircuit({ requestVolumeThreshold: 5 });
    expect(command.circuitState).toBe('open');
  });

  it('validates changes, naming the field', () => {
    const command = flaky('bad-config');
    expect(() => command.configureCircuit({ errorThresholdPercentage: 0 })).toThrow(
      /command 'bad-config' configureCircuit: .*errorThresholdPercentage must be between 1 and 100/s,
    );
    expect(() => command.configureCircuit({ sleepWindow: 5 } as never)).toThrow(/sleepWindow/);
  });

  it('opens and closes by hand', async () => {
    const command = flaky('by-hand');
    command.open();
    expect(command.circuitState).toBe('open');
    await expect(command(true)).resolves.toBe('short-circuited');
    command.close();
    expect(command.circuitState).toBe('closed');
    await expect(command(true)).resolves.toBe('ok');
  });
});

describe('state export and restore (opossum toJSON() and state)', () => {
  it('exports an open circuit and restores it open, in a new command with the same key', async () => {
    const before = flaky('saved');
    await before(false);
    await before(false);
    const saved = JSON.parse(JSON.stringify(before.toJSON()));
    expect(saved.state).toMatchObject({ name: 'saved', closed: false, open: true, halfOpen: false, enabled: true });
    expect(typeof saved.state.lastTimerAt).toBe('number');
    expect(saved.status).toEqual({ successes: 0, errors: 2 });

    const after = flaky('saved', { replace: true, state: saved });
    expect(after.circuitState).toBe('open');
    await expect(after(true)).resolves.toBe('short-circuited');
  });

  it('restores half-open when the sleep window has passed since it opened', async () => {
    const command = flaky('restored-half', {
      circuitBreaker: { sleepWindowMs: 1000 },
      state: { state: { closed: false, open: true, halfOpen: false, lastTimerAt: Date.now() - 5000 } },
    });
    expect(command.circuitState).toBe('half-open');
    await expect(command(true)).resolves.toBe('ok'); // the trial
    expect(command.circuitState).toBe('closed');
  });

  it('restores the health counts of a closed circuit: the next error can trip it', async () => {
    const command = flaky('restored-health', {
      circuitBreaker: { requestVolumeThreshold: 10 },
      state: { state: { closed: true }, status: { successes: 5, errors: 4 } },
    });
    expect(command.metrics().health).toEqual({ totalRequests: 9, errorCount: 4, errorPercentage: 44 });
    await command(false); // 10 requests, 50 %
    expect(command.circuitState).toBe('open');
  });

  it("accepts opossum's own toJSON()", async () => {
    const opossum = new OpossumBreaker(async () => 'x', { resetTimeout: 60_000 });
    opossum.open();
    // (@types/opossum declares lastTimerAt a symbol; opossum writes Date.now(), hence the cast.)
    const exported = opossum.toJSON() as unknown as CircuitJsonInput;
    opossum.shutdown();
    const command = flaky('from-opossum', { state: exported });
    expect(command.circuitState).toBe('open');
  });

  it('restores runtime overrides, and refuses a malformed state naming the field', () => {
    const pinned = flaky('pinned');
    pinned.configureCircuit({ forceOpen: true });
    const restored = flaky('pinned', { replace: true, state: pinned.toJSON() });
    expect(restored.circuitState).toBe('open');
    expect(restored.toJSON().state.forceOpen).toBe(true);
    expect(() => flaky('malformed', { state: { state: {} } as never })).toThrow(/defineCommand 'malformed'.*closed/s);
  });
});

describe('redefining a key', () => {
  it('throws without replace, and takes the place of the old command with it', async () => {
    const old = define({ key: 'hot', run: () => 'old' });
    expect(() => define({ key: 'hot', run: () => 'new' })).toThrow(/pass \{ replace: true \}/);
    const fresh = define({ key: 'hot', replace: true, run: () => 'new' });
    await expect(fresh()).resolves.toBe('new');
    await expect(old()).resolves.toBe('old'); // still works for whoever holds it
    expect(registry.commandMetrics().map((m) => [m.key, m.counts.success])).toEqual([['hot', 1]]);
    old.dispose(); // does not remove its replacement
    expect(registry.has('hot')).toBe(true);
    fresh.dispose();
    expect(registry.has('hot')).toBe(false);
  });
});

describe('wrapCommand', () => {
  it('wraps an existing function, keyed by its name, with its argument and result types', async () => {
    async function fetchTitle(id: string, lang: 'en' | 'fr'): Promise<{ id: string; lang: string }> {
      return { id, lang };
    }
    const getTitle = wrapCommand(fetchTitle, { registry, timeoutMs: 100 });
    expect(getTitle.key).toBe('fetchTitle');
    await expect(getTitle('80100172', 'fr')).resolves.toEqual({ id: '80100172', lang: 'fr' });
    expect(getTitle.metrics().counts.success).toBe(1);
  });

  it('falls back like any command, and needs a key for an anonymous function', async () => {
    const down = wrapCommand(async (_n: number): Promise<number> => Promise.reject(new Error('down')), {
      registry,
      key: 'anon',
      fallback: (_failure, n) => -n,
    });
    await expect(down(3)).resolves.toBe(-3);
    expect(() => wrapCommand(async () => 1, { registry })).toThrow(/give the command a key/);
  });
});

describe('opossum carries no idle timer', () => {
  it('defining 200 commands starts no timer', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (let i = 0; i < 200; i++) define({ key: `idle-${i}`, run: () => i });
    expect(timers()).toBe(before);
  });
});
