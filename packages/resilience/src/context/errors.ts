import { inspect } from 'node:util';

const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by the errors of request collapsers. */
export type CollapserErrorCode = 'BACKLOT_COLLAPSER_MISSING_KEY' | 'BACKLOT_COLLAPSER_BATCH_MISMATCH';

const describe = (key: unknown): string => inspect(key, { depth: 2, breakLength: Number.POSITIVE_INFINITY });

/**
 * Base class of the errors a request collapser rejects callers with.
 * Recognise them by `code` (stable across versions and across two copies of
 * the package in one tree), not only by `instanceof`.
 */
export class CollapserError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: CollapserErrorCode;
  /** The collapser's `name`. */
  readonly collapser: string;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: CollapserErrorCode, collapser: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.collapser = collapser;
  }
}

/** A batch resolved without a result for one of its keys: only that key's callers reject with it. */
export class CollapserMissingKeyError extends CollapserError {
  /** The key that got no result. */
  readonly key: unknown;

  constructor(collapser: string, key: unknown, options?: ErrorOptions) {
    super(
      'BACKLOT_COLLAPSER_MISSING_KEY',
      collapser,
      `collapser "${collapser}": the batch returned no result for key ${describe(key)}`,
      options,
    );
    this.key = key;
  }
}

/**
 * A batch resolved to something that cannot be matched to its keys: an array
 * of the wrong length, or neither a Map nor an array. Every caller of the
 * batch rejects with it.
 */
export class CollapserBatchMismatchError extends CollapserError {
  /** How many (deduplicated) keys the batch was given. */
  readonly expected: number;
  /** How many results it returned, or `undefined` when it returned neither a Map nor an array. */
  readonly received: number | undefined;

  constructor(collapser: string, expected: number, received: number | undefined, options?: ErrorOptions) {
    super(
      'BACKLOT_COLLAPSER_BATCH_MISMATCH',
      collapser,
      received === undefined
        ? `collapser "${collapser}": the batch must resolve to a Map or an array, one result per key`
        : `collapser "${collapser}": the batch returned ${received} results for ${expected} keys (an array result needs one element per key, in key order)`,
      options,
    );
    this.expected = expected;
    this.received = received;
  }
}

function hasCode(error: unknown, code: CollapserErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    (error as { code?: unknown }).code === code
  );
}

/** True when `error` is a {@link CollapserMissingKeyError}, from any copy of the package. */
export function isCollapserMissingKeyError(error: unknown): error is CollapserMissingKeyError {
  return hasCode(error, 'BACKLOT_COLLAPSER_MISSING_KEY');
}

/** True when `error` is a {@link CollapserBatchMismatchError}, from any copy of the package. */
export function isCollapserBatchMismatchError(error: unknown): error is CollapserBatchMismatchError {
  return hasCode(error, 'BACKLOT_COLLAPSER_BATCH_MISMATCH');
}
