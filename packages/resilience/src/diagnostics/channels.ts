/**
 * Every `diagnostics_channel` name `@backlot/resilience` publishes on, in one
 * place, for tracers and APMs that subscribe to channels.
 */
import type { CommandEventName } from '../events/command-events.js';

/**
 * The `node:diagnostics_channel` channel of each event, for tracers and APMs:
 * every command publishes its events there, with the same message a
 * `command.on()` listener receives. Publishing costs nothing while a channel
 * has no subscriber.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(COMMAND_CHANNELS.open, (message) => console.log('circuit open', message));
 * ```
 */
export const COMMAND_CHANNELS = {
  success: 'backlot:resilience:success',
  failure: 'backlot:resilience:failure',
  timeout: 'backlot:resilience:timeout',
  reject: 'backlot:resilience:reject',
  shortCircuit: 'backlot:resilience:shortCircuit',
  fallback: 'backlot:resilience:fallback',
  open: 'backlot:resilience:open',
  close: 'backlot:resilience:close',
  halfOpen: 'backlot:resilience:halfOpen',
} as const satisfies Record<CommandEventName, string>;

/**
 * The tracing channel of command calls (`tracing:backlot:resilience:call:start`,
 * `…:end`, `…:asyncStart`, `…:asyncEnd`, `…:error`): one trace per call, with
 * the context `{ command, args }`. Used only while it has subscribers.
 */
export const COMMAND_TRACING_CHANNEL = 'backlot:resilience:call';
