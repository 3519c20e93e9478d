const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/storage` throws. */
export type StorageErrorCode =
  | 'BACKLOT_STORAGE_NOT_FOUND'
  | 'BACKLOT_STORAGE_INVALID_KEY'
  | 'BACKLOT_STORAGE_PRECONDITION_FAILED'
  | 'BACKLOT_STORAGE_CONFLICT'
  | 'BACKLOT_STORAGE_INVALID_RANGE'
  | 'BACKLOT_STORAGE_UNSUPPORTED'
  | 'BACKLOT_STORAGE_MISSING_PEER'
  | 'BACKLOT_STORAGE_VALIDATION'
  | 'BACKLOT_STORAGE_BACKEND';

/**
 * Base class of the package's errors. Recognise them by `code` (stable across
 * versions and across two copies of the package in one tree), with the
 * `isXError` guards below.
 */
export class StorageError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: StorageErrorCode;
  /** True when the same call may succeed if retried (after re-reading, for conflicts). */
  readonly retryable: boolean;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: StorageErrorCode, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** Thrown when the requested key does not exist in the store (also: `ifMatch` on a missing key). */
export class NotFoundError extends StorageError {
  /** The key that was not found. */
  readonly key: string;

  constructor(key: string, options?: ErrorOptions) {
    super('BACKLOT_STORAGE_NOT_FOUND', `no object at key '${key}'`, options);
    this.key = key;
  }
}

/** Thrown when a key is not acceptable to the store (empty, too long, NUL byte, `..` on the filesystem, …). */
export class InvalidKeyError extends StorageError {
  /** The rejected key. */
  readonly key: string;

  constructor(key: string, reason: string) {
    super('BACKLOT_STORAGE_INVALID_KEY', `invalid key '${key.replaceAll('\0', '\\0')}': ${reason}`);
    this.key = key;
  }
}

/**
 * Thrown when a conditional write's precondition does not hold: `ifNoneMatch: '*'`
 * on an existing key, or `ifMatch` with an etag that is no longer current.
 */
export class PreconditionFailedError extends StorageError {
  /** The key that was written. */
  readonly key: string;
  /** The condition that failed, e.g. `If-None-Match: *` or `If-Match: "abc"`. */
  readonly condition: string;

  constructor(key: string, condition: string, options?: ErrorOptions) {
    super('BACKLOT_STORAGE_PRECONDITION_FAILED', `precondition failed on key '${key}' (${condition})`, options);
    this.key = key;
    this.condition = condition;
  }
}

/**
 * Thrown when a concurrent write to the same key got in the way (S3's 409
 * `ConditionalRequestConflict`, or the filesystem lock not acquired in time).
 * Retryable: re-read the object and try again.
 */
export class ConflictError extends StorageError {
  /** The key that was written. */
  readonly key: string;

  constructor(key: string, reason: string, options?: ErrorOptions) {
    super('BACKLOT_STORAGE_CONFLICT', `conflicting concurrent write on key '${key}': ${reason}`, {
      ...options,
      retryable: true,
    });
    this.key = key;
  }
}

/** Thrown when a byte range does not fit the object (offset at or beyond its size). */
export class InvalidRangeError extends StorageError {
  /** The key that was read. */
  readonly key: string;

  constructor(key: string, reason: string, options?: ErrorOptions) {
    super('BACKLOT_STORAGE_INVALID_RANGE', `invalid range on key '${key}': ${reason}`, options);
    this.key = key;
  }
}

/** Thrown when an adapter lacks a capability the call needs (e.g. presigned URLs on the filesystem). */
export class UnsupportedError extends StorageError {
  /** The missing capability. */
  readonly capability: string;

  constructor(capability: string, adapter: string) {
    super('BACKLOT_STORAGE_UNSUPPORTED', `the ${adapter} adapter does not support ${capability}`);
    this.capability = capability;
  }
}

/**
 * Thrown when a feature needs an optional peer dependency that is not
 * installed: the S3 adapter (`@aws-sdk/client-s3`, `@aws-sdk/lib-storage`),
 * presigned S3 URLs (`@aws-sdk/s3-request-presigner`), the Cassandra store
 * (`cassandra-driver`), or Prometheus metrics without a registry
 * (`prom-client`). The message says what to install; not retryable.
 */
export class MissingPeerError extends StorageError {
  /** The packages to install, e.g. `['@aws-sdk/client-s3', '@aws-sdk/lib-storage']`. */
  readonly packages: readonly string[];

  constructor(feature: string, packages: readonly string[], options?: ErrorOptions) {
    const list = packages.map((name) => `'${name}'`).join(' and ');
    super(
      'BACKLOT_STORAGE_MISSING_PEER',
      `${feature} needs ${list}, optional peer ${packages.length > 1 ? 'dependencies' : 'dependency'} of @backlot/storage that ${packages.length > 1 ? 'are' : 'is'} not installed: run \`npm install ${packages.join(' ')}\``,
      options,
    );
    this.packages = packages;
  }
}

/** One problem found by a schema, with the path of the offending field. */
export interface ValidationIssue {
  /** Path of the field, e.g. `['plan', 'tier']`. */
  path: (string | number)[];
  /** What is wrong with it. */
  message: string;
}

/** Thrown by the key-value layer when a record does not match its namespace's schema, on write or on read. */
export class ValidationError extends StorageError {
  /** The storage key of the record. */
  readonly key: string;
  /** Whether the record was being written or read. */
  readonly operation: 'read' | 'write';
  /** What the schema rejected. */
  readonly issues: ValidationIssue[];

  constructor(key: string, operation: 'read' | 'write', issues: ValidationIssue[], options?: ErrorOptions) {
    const summary = issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    super('BACKLOT_STORAGE_VALIDATION', `record at '${key}' failed validation on ${operation}: ${summary}`, options);
    this.key = key;
    this.operation = operation;
    this.issues = issues;
  }
}

/**
 * Thrown when the backing store failed in a way no other error describes
 * (S3 access denied, missing bucket, a 5xx after the SDK's retries, a disk error).
 * The original error is its `cause`.
 */
export class BackendError extends StorageError {
  /** HTTP status or errno-like code of the backend, when known. */
  readonly status: number | string | undefined;

  constructor(message: string, options: ErrorOptions & { retryable?: boolean; status?: number | string | undefined }) {
    super('BACKLOT_STORAGE_BACKEND', message, options);
    this.status = options.status;
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

/** True when `error` is any error of this package, from any copy of it. */
export function isStorageError(error: unknown): error is StorageError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    String((error as { code?: unknown }).code).startsWith('BACKLOT_STORAGE_')
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

/** True when `error` is a {@link PreconditionFailedError}, from any copy of the package. */
export function isPreconditionFailedError(error: unknown): error is PreconditionFailedError {
  return hasCode(error, 'BACKLOT_STORAGE_PRECONDITION_FAILED');
}

/** True when `error` is a {@link ConflictError}, from any copy of the package. */
export function isConflictError(error: unknown): error is ConflictError {
  return hasCode(error, 'BACKLOT_STORAGE_CONFLICT');
}

/** True when `error` is an {@link InvalidRangeError}, from any copy of the package. */
export function isInvalidRangeError(error: unknown): error is InvalidRangeError {
  return hasCode(error, 'BACKLOT_STORAGE_INVALID_RANGE');
}

/** True when `error` is a {@link MissingPeerError} (an optional peer dependency is not installed), from any copy of the package. */
export function isMissingPeerError(error: unknown): error is MissingPeerError {
  return hasCode(error, 'BACKLOT_STORAGE_MISSING_PEER');
}

/** True when `error` is an {@link UnsupportedError}, from any copy of the package. */
export function isUnsupportedError(error: unknown): error is UnsupportedError {
  return hasCode(error, 'BACKLOT_STORAGE_UNSUPPORTED');
}

/** True when `error` is a {@link ValidationError}, from any copy of the package. */
export function isValidationError(error: unknown): error is ValidationError {
  return hasCode(error, 'BACKLOT_STORAGE_VALIDATION');
}

/** True when `error` is a {@link BackendError}, from any copy of the package. */
export function isBackendError(error: unknown): error is BackendError {
  return hasCode(error, 'BACKLOT_STORAGE_BACKEND');
}
