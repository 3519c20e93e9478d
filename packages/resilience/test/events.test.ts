import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  COMMAND_CHANNELS,
  COMMAND_EVENT_NAMES,
  COMMAND_TRACING_CHANNEL,
  type Command,
  type CommandEventMap,
  isCircuitOpenError,
  isRejectedError,
  isTimeoutError,
} from '../src/index.js';
import { define } from './helpers.js';

/** Records every event of `command` as [name, payload]. */
function record(command: Pick<Command<[], unknown>, 'on'>) {
  const seen: [string, Record<string, unknown>][] = [];
  for (const name of COMMAND_EVENT_NAMES) {
    command.on(name, (event) => {
      seen.push([name, event as unknown as Record<string, unknown>]);
    });
  }
  return { seen, names: () => seen.map(([name]) => name) };
}

describe('command events (opossum names)', () => {
  it('emits success with the result, latency and attempt', async () => {
    const command = define({ key: 'ev-success', run: (_e, n: number) => n * 2 });
    const events: CommandEventMap<number>['success'][] = [];
    command.on('success', (event) => events.push(event));
    await command(21);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ command: 'ev-success', result: 42, attempt: 1 });
    expect(events[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('emits failure then fallback, and open once the window trips, then shortCircuit', async () => {
    const command = define<[], string>({
      key: 'ev-trip',
      run: () => Promise.reject(new Error('down')),
      fallback: ({ reason }) => `fb:${reason}`,
      circuitBreaker: { requestVolumeThreshold: 2, sleepWindowMs: 60_000 },
    });
    const { seen, names } = record(command);
    await command();
    await command();
    await command();
    expect(names()).toEqual(['failure', 'fallback', 'failure', 'open', 'fallback', 'shortCircuit', 'fallback']);
    const open = seen.find(([name]) => name === 'open')?.[1];
    expect(open).toEqual({ command: 'ev-trip', health: { totalRequests: 2, errorCount: 2, errorPercentage: 100 } });
    const short = seen.find(([name]) => name === 'shortCircuit')?.[1];
    expect(isCircuitOpenError(short?.error)).toBe(true);
    expect(seen.at(-1)?.[1]).toMatchObject({ reason: 'short-circuited', result: 'fb:short-circuited' });
  });

  it('emits timeout (queued or not) and reject', async () => {
    const command = define({
      key: 'ev-timeout',
      timeoutMs: 20,
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      run: () => new Promise<string>(() => {}),
      fallback: () => 'fb',
    });
    const { seen } = record(command);
    await Promise.all([command(), command(), command()]);
    const timeouts = seen.filter(([name]) => name === 'timeout').map(([, e]) => e);
    expect(timeouts.map((e) => e.queued).sort()).toEqual([false, true]);
    expect(timeouts.every((e) => isTimeoutError(e.error))).toBe(true);
    const rejects = seen.filter(([name]) => name === 'reject').map(([, e]) => e);
    expect(rejects).toHaveLength(1);
    expect(isRejectedError(rejects[0]?.error)).toBe(true);
  });

  it('emits halfOpen and close around a successful trial', async () => {
    let healthy = false;
    const command = define({
      key: 'ev-half',
      run: () => (healthy ? 'ok' : Promise.reject(new Error('down'))),
      fallback: () => 'fb',
      circuitBreaker: { requestVolumeThreshold: 1, sleepWindowMs: 20 },
    });
    const { names } = record(command);
    await command();
    await expect.poll(() => command.circuitState, { timeout: 2000 }).toBe('half-open');
    healthy = true;
    await command();
    expect(names()).toEqual(['failure', 'open', 'fallback', 'halfOpen', 'success', 'close']);
  });

  it('stops calling a listener once its subscription is disposed (also with `using`)', async () => {
    const command = define({ key: 'ev-dispose', run: () => 1 });
    let calls = 0;
    const subscription = command.on('success', () => calls++);
    await command();
    subscription.dispose();
    subscription.dispose(); // twice is harmless
    await command();
    {
      using _scoped = command.on('success', () => calls++);
      await command();
    }
    await command();
    expect(calls).toBe(2);
  });

  it('emits nothing for bad requests and refuses unknown events', async () => {
    const command = define({ key: 'ev-bad', run: () => Promise.reject(new BadRequestError('no')) });
    const { seen } = record(command);
    await expect(command()).rejects.toThrow('no');
    expect(seen).toEqual([]);
    expect(() => command.on('fire' as 'success', () => {})).toThrow(/unknown event 'fire'/);
  });
});

describe('diagnostics_channel', () => {
  it('publishes each event on its channel, with the listener payload', async () => {
    const messages: [string, unknown][] = [];
    const subscribers = COMMAND_EVENT_NAMES.map((name) => {
      const fn = (message: unknown) => messages.push([name, message]);
      diagnostics.subscribe(COMMAND_CHANNELS[name], fn);
      return () => diagnostics.unsubscribe(COMMAND_CHANNELS[name], fn);
    });
    try {
      const command = define({
        key: 'dc',
        run: (_e, ok: boolean) => (ok ? 'ok' : Promise.reject(new Error('down'))),
        fallback: () => 'fb',
      });
      await command(true);
      await command(false);
      expect(messages.map(([name]) => name)).toEqual(['success', 'failure', 'fallback']);
      expect(messages[0]?.[1]).toMatchObject({ command: 'dc', result: 'ok' });
    } finally {
      for (const unsubscribe of subscribers) unsubscribe();
    }
  });

  it('traces each call on the tracing channel while it has subscribers', async () => {
    const channel = diagnostics.tracingChannel(COMMAND_TRACING_CHANNEL);
    const seen: string[] = [];
    const handlers = {
      start: (ctx: unknown) => seen.push(`start:${(ctx as { command: string }).command}`),
      end: () => seen.push('end'),
      asyncStart: () => seen.push('asyncStart'),
      asyncEnd: (ctx: unknown) => seen.push(`asyncEnd:${String((ctx as { result?: unknown }).result)}`),
      error: () => seen.push('error'),
    };
    const command = define({ key: 'traced', run: (_e, n: number) => n + 1 });
    channel.subscribe(handlers);
    try {
      await expect(command(1)).resolves.toBe(2);
      await expect(command.execute({}, 2)).resolves.toBe(3);
    } finally {
      channel.unsubscribe(handlers);
    }
    await command(3); // no subscriber: not traced
    expect(seen).toEqual([
      'start:traced',
      'end',
      'asyncStart',
      'asyncEnd:2',
      'start:traced',
      'end',
      'asyncStart',
      'asyncEnd:3',
    ]);
  });
});
