const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/storage` throws. */
export type StorageErrorCode = 'BACKLOT_STORAGE_NOT_FOUND' | 'BACKLOT_STORAGE_INVALID_KEY';

/**
 * Base class of the package's errors. Recognise them by `code` (stable across
 * versions and across two copies of the package in one tree).
 */
export class StorageError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: StorageErrorCode;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: StorageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown when the requested key does not exist in the store. */
export class NotFoundError extends StorageError {
  /** The key that was not found. */
  readonly key: string;

  constructor(key: string, options?: ErrorOptions) {
    super('BACKLOT_STORAGE_NOT_FOUND', `no object at key '${key}'`, options);
    this.key = key;
  }
}

/** Thrown when a key is not acceptable to the store (empty, too long, …). */
export class InvalidKeyError extends StorageError {
  /** The rejected key. */
  readonly key: string;

  constructor(key: string, reason: string) {
    super('BACKLOT_STORAGE_INVALID_KEY', `invalid key '${key}': ${reason}`);
    this.key = key;
  }
}

function hasCode(error: unknown, code: StorageErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    (error as { code?: unknown }).code === code
  );
}

/** True when `error` is a {@link NotFoundError}, from any copy of the package. */
export function isNotFoundError(error: unknown): error is NotFoundError {
  return hasCode(error, 'BACKLOT_STORAGE_NOT_FOUND');
}

/** True when `error` is an {@link InvalidKeyError}, from any copy of the package. */
export function isInvalidKeyError(error: unknown): error is InvalidKeyError {
  return hasCode(error, 'BACKLOT_STORAGE_INVALID_KEY');
}
