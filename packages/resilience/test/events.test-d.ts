import { describe, expectTypeOf, it } from 'vitest';
import {
  type CircuitJson,
  type Command,
  type CommandEventMap,
  type CommandEventName,
  defineCommand,
  type EventSubscription,
  type FailureReason,
  type HealthCounts,
  type RejectedError,
  type TimeoutError,
  wrapCommand,
} from '../src/index.js';

interface Title {
  id: string;
  name: string;
}
const getTitle = defineCommand({
  key: 'types.getTitle',
  run: async (_e, id: string): Promise<Title> => ({ id, name: 'x' }),
});

describe('command event types', () => {
  it('types each payload by event name, with the command result type', () => {
    const subscription = getTitle.on('success', (event) => {
      expectTypeOf(event.result).toEqualTypeOf<Title>();
      expectTypeOf(event.latencyMs).toEqualTypeOf<number>();
    });
    expectTypeOf(subscription).toEqualTypeOf<EventSubscription>();
    getTitle.on('timeout', (event) => {
      expectTypeOf(event.error).toEqualTypeOf<TimeoutError>();
      expectTypeOf(event.queued).toEqualTypeOf<boolean>();
    });
    getTitle.on('reject', (event) => expectTypeOf(event.error).toEqualTypeOf<RejectedError>());
    getTitle.on('fallback', (event) => {
      expectTypeOf(event.reason).toEqualTypeOf<FailureReason>();
      expectTypeOf(event.result).toEqualTypeOf<Title>();
    });
    getTitle.on('open', (event) => expectTypeOf(event.health).toEqualTypeOf<HealthCounts>());
    getTitle.on('halfOpen', (event) => expectTypeOf(event.sleepWindowMs).toEqualTypeOf<number>());
    expectTypeOf<CommandEventName>().toEqualTypeOf<
      'success' | 'failure' | 'timeout' | 'reject' | 'shortCircuit' | 'fallback' | 'open' | 'close' | 'halfOpen'
    >();
    expectTypeOf<CommandEventMap<Title>['success']['result']>().toEqualTypeOf<Title>();
  });

  it('refuses unknown events and mistyped listeners', () => {
    // @ts-expect-error opossum's `fire` is not a command event
    getTitle.on('fire', () => {});
    // @ts-expect-error a success carries a Title, not a number
    getTitle.on('success', (event: { result: number }) => event);
  });
});

describe('runtime control and state types', () => {
  it('accepts circuit-breaker settings, and nothing else', () => {
    getTitle.configureCircuit({ forceOpen: true });
    getTitle.configureCircuit({ enabled: false, sleepWindowMs: 1000 });
    // @ts-expect-error not a circuit-breaker setting
    getTitle.configureCircuit({ timeoutMs: 5 });
    expectTypeOf(getTitle.open).toEqualTypeOf<() => void>();
    expectTypeOf(getTitle.close).toEqualTypeOf<() => void>();
  });

  it('exports a state that the state option takes back', () => {
    const saved = getTitle.toJSON();
    expectTypeOf(saved).toEqualTypeOf<CircuitJson>();
    expectTypeOf(saved.state.lastTimerAt).toEqualTypeOf<number | undefined>();
    defineCommand({ key: 'types.restored', replace: true, state: saved, run: () => 1 });
    defineCommand({ key: 'types.restored', replace: true, state: { state: { closed: true } }, run: () => 1 });
    // @ts-expect-error `closed` is required
    defineCommand({ key: 'types.restored', state: { state: {} }, run: () => 1 });
  });
});

describe('wrapCommand types', () => {
  it('takes the argument and result types of the wrapped function', () => {
    async function fetchTitle(id: string, lang: 'en' | 'fr'): Promise<Title> {
      return { id, name: lang };
    }
    const wrapped = wrapCommand(fetchTitle, {
      fallback: (failure, id, lang) => ({ id, name: `${lang}:${failure.reason}` }),
    });
    expectTypeOf(wrapped).toEqualTypeOf<Command<[id: string, lang: 'en' | 'fr'], Title>>();
    // @ts-expect-error lang is 'en' | 'fr'
    wrapped('1', 'de');
    const sync = wrapCommand((n: number) => n * 2, { key: 'double' });
    expectTypeOf(sync).returns.toEqualTypeOf<Promise<number>>();
  });
});
