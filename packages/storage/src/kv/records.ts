import type { z } from 'zod';
import { ValidationError } from '../errors.js';

const issuesOf = (error: z.ZodError) =>
  error.issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: issue.message,
  }));

/** @internal The key a record error names: a string, or a function building it only when an error needs it (hot read paths). */
export type RecordKey = string | (() => string);

const keyText = (key: RecordKey) => (typeof key === 'string' ? key : key());

/** @internal Validates a record with its schema; a mismatch is a {@link ValidationError} naming the fields. */
export function validateRecord<T>(
  key: RecordKey,
  value: unknown,
  operation: 'read' | 'write',
  schema: z.ZodType<T>,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ValidationError(keyText(key), operation, issuesOf(parsed.error), { cause: parsed.error });
  return parsed.data;
}

/** @internal Parses a stored JSON record and validates it. */
export function decodeRecord<T>(key: RecordKey, body: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new ValidationError(keyText(key), 'read', [{ path: [], message: 'stored record is not JSON' }], {
      cause: error,
    });
  }
  return validateRecord(key, raw, 'read', schema);
}
