import {
  BackendError,
  ConflictError,
  InvalidRangeError,
  isStorageError,
  NotFoundError,
  PreconditionFailedError,
} from '../../errors.js';

interface ServiceErrorShape {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** S3 error codes of a refused identity or signature. */
const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccessDenied',
  'AllAccessDisabled',
]);

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
]);

/** What the failed call was about, to name it in the typed error. */
export interface ErrorContext {
  key: string;
  /** The condition that was sent, for `PreconditionFailedError.condition`. */
  condition?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Maps an error of `@aws-sdk/client-s3` to the package's typed errors:
 * 412 → `PreconditionFailedError`, 409 `ConditionalRequestConflict` →
 * `ConflictError` (retryable), 404 `NoSuchKey`/`NotFound` → `NotFoundError`,
 * 416 → `InvalidRangeError`, anything else → `BackendError` with the cause.
 * An aborted call rejects with the signal's reason.
 */
export function mapS3Error(error: unknown, context: ErrorContext): unknown {
  if (context.signal?.aborted) return context.signal.reason;
  if (isStorageError(error)) return error;
  const e = (error ?? {}) as ServiceErrorShape;
  if (e.name === 'AbortError') return error;
  const name = e.name ?? e.Code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const options = { cause: error };

  if (status === 412 || name === 'PreconditionFailed') {
    return new PreconditionFailedError(context.key, context.condition ?? 'precondition', options);
  }
  if (status === 409 && name === 'ConditionalRequestConflict') {
    return new ConflictError(context.key, 'S3 ConditionalRequestConflict (409): re-read and retry', options);
  }
  if (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    (status === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload')
  ) {
    return new NotFoundError(context.key, options);
  }
  if (status === 416 || name === 'InvalidRange') {
    return new InvalidRangeError(context.key, 'the range does not fit the object (S3 416)', options);
  }
  if (status === undefined) {
    // No answer from the server: a timeout, a refused or reset connection, a body cut short.
    const what = name === 'TimeoutError' ? 'timed out' : `failed (${e.code ?? name})`;
    return new BackendError(
      `S3 request on key '${context.key}' ${what} before the server answered in full: ${e.message ?? ''}`,
      { ...options, retryable: true, status: e.code ?? name },
    );
  }
  const retryable =
    status === undefined || status >= 500 || status === 429 || RETRYABLE_NAMES.has(name) || Boolean(e.$retryable);
  const denied = status === 401 || status === 403 || CREDENTIAL_NAMES.has(name);
  const hint =
    name === 'NoSuchBucket'
      ? ' (create the bucket first, or check the bucket option)'
      : denied
        ? ' (access denied: check the credentials (access key, secret, session token), the region, and the bucket policy)'
        : '';
  // A HEAD answer has no error document: the SDK names it `UnknownError` or by its status.
  const shown =
    denied && (name === 'UnknownError' || /^\d+$/.test(name) || name === 'Forbidden') ? 'AccessDenied' : name;
  return new BackendError(
    `S3 ${shown}${status ? ` (${status})` : ''} on key '${context.key}': ${e.message && e.message !== 'UnknownError' ? e.message : 'no error document'}${hint}`,
    {
      ...options,
      retryable,
      status: status ?? name,
    },
  );
}
