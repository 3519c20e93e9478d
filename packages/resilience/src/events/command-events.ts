import diagnostics from 'node:diagnostics_channel';
import type { FailureReason } from '../command/options.js';
import { COMMAND_CHANNELS, COMMAND_TRACING_CHANNEL } from '../diagnostics/channels.js';
import type { CircuitOpenError, RejectedError, TimeoutError } from '../errors.js';
import type { HealthCounts } from '../metrics/rolling-counts.js';

/**
 * The events of one command, by name (opossum's names where they mean the
 * same), with what each listener receives. `Result` is the command's result
 * type.
 */
export interface CommandEventMap<Result = unknown> {
  /** `run` answered in time. */
  success: { command: string; result: Result; latencyMs: number; attempt: number };
  /** `run` threw or rejected (not a bad request). */
  failure: { command: string; error: unknown; latencyMs: number; attempt: number };
  /** The attempt ran out of time; `queued` when it never got a bulkhead slot before its deadline. */
  timeout: { command: string; error: TimeoutError; latencyMs: number; attempt: number; queued: boolean };
  /** The group's bulkhead (and queue) or adaptive limit was full: the call never ran (opossum: `semaphoreLocked`). */
  reject: { command: string; error: RejectedError };
  /** The circuit was open: the call never ran (opossum calls this `reject`). */
  shortCircuit: { command: string; error: CircuitOpenError };
  /** The fallback answered for a failed call. */
  fallback: { command: string; reason: FailureReason; error: unknown; result: Result };
  /** The circuit opened; `health` is the window at that moment (the one that opened it, unless opened by hand). */
  open: { command: string; health: HealthCounts };
  /** The circuit closed (trial succeeded, or closed by hand); its health counts were reset. */
  close: { command: string };
  /** The sleep window passed: the next call is the one trial. */
  halfOpen: { command: string; sleepWindowMs: number };
}

/** The name of a command event. */
export type CommandEventName = keyof CommandEventMap;

/** What `command.on()` returns: call `dispose()` (or use `using`) to stop listening. */
export interface EventSubscription {
  /** Removes the listener; calling it again does nothing. */
  dispose(): void;
  /** The same as `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}

/** Every command event name, in a stable order. */
export const COMMAND_EVENT_NAMES = [
  'success',
  'failure',
  'timeout',
  'reject',
  'shortCircuit',
  'fallback',
  'open',
  'close',
  'halfOpen',
] as const satisfies readonly CommandEventName[];

export { COMMAND_CHANNELS, COMMAND_TRACING_CHANNEL } from '../diagnostics/channels.js';

/** @internal bit of each event in {@link CommandEvents.mask}. */
export const EVENT_BIT = {
  success: 1,
  failure: 2,
  timeout: 4,
  reject: 8,
  shortCircuit: 16,
  fallback: 32,
  open: 64,
  close: 128,
  halfOpen: 256,
} as const satisfies Record<CommandEventName, number>;

/** @internal the channel objects, created once. */
export const channels = {
  success: diagnostics.channel(COMMAND_CHANNELS.success),
  failure: diagnostics.channel(COMMAND_CHANNELS.failure),
  timeout: diagnostics.channel(COMMAND_CHANNELS.timeout),
  reject: diagnostics.channel(COMMAND_CHANNELS.reject),
  shortCircuit: diagnostics.channel(COMMAND_CHANNELS.shortCircuit),
  fallback: diagnostics.channel(COMMAND_CHANNELS.fallback),
  open: diagnostics.channel(COMMAND_CHANNELS.open),
  close: diagnostics.channel(COMMAND_CHANNELS.close),
  halfOpen: diagnostics.channel(COMMAND_CHANNELS.halfOpen),
} as const satisfies Record<CommandEventName, diagnostics.Channel>;

/** @internal */
export const callTracing = diagnostics.tracingChannel<object, { command: string; args: unknown[] }>(
  COMMAND_TRACING_CHANNEL,
);

type Listener<Result, E extends CommandEventName> = (event: CommandEventMap<Result>[E]) => void;

/**
 * The listeners of one command. `mask` has the bit of every event with at
 * least one listener, so the runtime decides with one AND (and the channel's
 * `hasSubscribers`) whether to build an event at all: with no listener, an
 * event costs nothing. A listener that throws does not disturb the command:
 * its error is rethrown on a later microtask, as an uncaught exception.
 * @internal
 */
export class CommandEvents<Result> {
  mask = 0;
  readonly #listeners: { [E in CommandEventName]?: readonly Listener<Result, E>[] } = {};

  on<E extends CommandEventName>(name: E, listener: Listener<Result, E>): EventSubscription {
    if (typeof listener !== 'function')
      throw new TypeError(`command.on('${name}', listener): listener must be a function`);
    if (!Object.hasOwn(EVENT_BIT, name)) {
      throw new TypeError(`command.on: unknown event '${String(name)}'; events are ${COMMAND_EVENT_NAMES.join(', ')}`);
    }
    this.#set(name, [...(this.#listeners[name] ?? []), listener]);
    let active = true;
    const dispose = () => {
      if (!active) return;
      active = false;
      const left = (this.#listeners[name] ?? []).filter((l) => l !== listener);
      this.#set(name, left);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  #set<E extends CommandEventName>(name: E, listeners: readonly Listener<Result, E>[]): void {
    (this.#listeners as Record<E, readonly Listener<Result, E>[]>)[name] = listeners;
    if (listeners.length > 0) this.mask |= EVENT_BIT[name];
    else this.mask &= ~EVENT_BIT[name];
  }

  /** Whether `name` has a listener or a channel subscriber. */
  wants(name: CommandEventName): boolean {
    return (this.mask & EVENT_BIT[name]) !== 0 || channels[name].hasSubscribers;
  }

  /** Publishes `event` on the channel and to the listeners (call only when {@link wants} says so). */
  emit<E extends CommandEventName>(name: E, event: CommandEventMap<Result>[E]): void {
    const channel = channels[name];
    if (channel.hasSubscribers) channel.publish(event);
    const listeners = this.#listeners[name];
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
