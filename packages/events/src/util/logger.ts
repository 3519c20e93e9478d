import { z } from 'zod';

/** A pino-compatible logger. Losses and failures go to `warn`/`error`, state changes to `info`; the hot path logs nothing. */
export interface EventsLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

const noop = () => {};

/** @internal a logger that drops everything. */
export const silentLogger: EventsLogger = { info: noop, warn: noop, error: noop };

/** @internal zod schema of the `logger` option. */
export const loggerSchema = z.custom<EventsLogger>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function'),
  'logger must have info(), warn() and error() methods (a pino logger works)',
);

/** @internal formats a zod error for an options TypeError. */
export function optionsError(where: string, error: z.ZodError): TypeError {
  return new TypeError(`${where}: ${z.prettifyError(error)}`);
}
