/**
 * What can happen to one command execution, Hystrix's event types. Each is
 * counted in the rolling window and exposed in snapshots, Prometheus and the
 * Hystrix stream.
 */
export const COMMAND_EVENTS = [
  'success',
  'failure',
  'timeout',
  'shortCircuited',
  'rejected',
  'badRequest',
  'fallbackSuccess',
  'fallbackFailure',
  'fallbackMissing',
  'exceptionThrown',
  'responseFromCache',
  'collapsed',
  'retry',
  'retryBudgetExhausted',
  'hedge',
  'cancelled',
] as const;

/** One of {@link COMMAND_EVENTS}. */
export type CommandEvent = (typeof COMMAND_EVENTS)[number];

/** @internal index of each event in the counters. */
export const EVENT_INDEX = Object.fromEntries(COMMAND_EVENTS.map((event, index) => [event, index])) as Record<
  CommandEvent,
  number
>;
