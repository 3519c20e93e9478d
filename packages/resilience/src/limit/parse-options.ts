import { z } from 'zod';

/**
 * Validates `options` against `schema`, throwing a `TypeError` prefixed with
 * the factory name and listing every problem.
 *
 * @internal
 */
export function parseOptions<S extends z.ZodType>(factory: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (!parsed.success) throw new TypeError(`${factory}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A whole number, with messages naming the option (ranges are checked by the caller). @internal */
export function wholeNumber(name: string) {
  return z.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`);
}

/** A whole number ≥ 0 or a function of the limit. @internal */
export function numberOrFunction(name: string) {
  return z.custom<number | ((limit: number) => number)>(
    (value) => typeof value === 'function' || (Number.isInteger(value) && (value as number) >= 0),
    { error: `${name} must be a whole number ≥ 0 or a function (limit) => number` },
  );
}

/** A function of the limit. @internal */
export function limitFunction(name: string) {
  return z.custom<(limit: number) => number>((value) => typeof value === 'function', {
    error: `${name} must be a function (limit) => number`,
  });
}

/** The smoothing factor: in (0, 1]. @internal */
export function smoothing(defaultValue: number) {
  return z
    .number({ error: 'smoothing must be a number' })
    .gt(0, 'smoothing must be greater than 0 and at most 1')
    .lte(1, 'smoothing must be greater than 0 and at most 1')
    .default(defaultValue);
}
