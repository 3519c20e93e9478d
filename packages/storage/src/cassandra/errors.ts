import { BackendError } from '../errors.js';

/**
 * What went wrong with Cassandra, in {@link BackendError.status} of the errors
 * the Cassandra adapter throws: `unavailable` (too few replicas alive for the
 * consistency level), `read-timeout` / `write-timeout` (replicas did not answer
 * the coordinator in time; a write's outcome is then unknown), `deadline` (no
 * answer within `timeoutMs`), `no-host-available` (no node could be reached),
 * `invalid-query` (a CQL or schema error: not retryable), `server-error`.
 */
export type CassandraFailure =
  | 'unavailable'
  | 'read-timeout'
  | 'write-timeout'
  | 'deadline'
  | 'no-host-available'
  | 'invalid-query'
  | 'server-error';

// Response error codes of the native protocol (the driver's types.responseErrorCodes).
const UNAVAILABLE = 0x1000;
const WRITE_TIMEOUT = 0x1100;
const READ_TIMEOUT = 0x1200;
const SYNTAX_ERROR = 0x2000;
const INVALID = 0x2200;
const CONFIG_ERROR = 0x2300;
const ALREADY_EXISTS = 0x2400;

interface DriverErrorLike {
  name?: string;
  code?: number;
  message?: string;
  innerErrors?: Record<string, unknown>;
}

function classify(error: unknown): CassandraFailure {
  const e = (error ?? {}) as DriverErrorLike;
  if (e.name === 'OperationTimedOutError') return 'deadline';
  if (e.name === 'NoHostAvailableError') {
    const inner = Object.values(e.innerErrors ?? {});
    return inner.some((i) => (i as DriverErrorLike | undefined)?.name === 'OperationTimedOutError')
      ? 'deadline'
      : 'no-host-available';
  }
  if (e.name === 'ResponseError') {
    if (e.code === UNAVAILABLE) return 'unavailable';
    if (e.code === WRITE_TIMEOUT) return 'write-timeout';
    if (e.code === READ_TIMEOUT) return 'read-timeout';
    if (e.code === SYNTAX_ERROR || e.code === INVALID || e.code === CONFIG_ERROR || e.code === ALREADY_EXISTS) {
      return 'invalid-query';
    }
  }
  return 'server-error';
}

const RETRYABLE: ReadonlySet<CassandraFailure> = new Set([
  'unavailable',
  'read-timeout',
  'write-timeout',
  'deadline',
  'no-host-available',
]);

/**
 * A `cassandra-driver` error as a coded {@link BackendError}: its `status` is a
 * {@link CassandraFailure}, `retryable` says whether the same call may succeed
 * later, the driver's error is its `cause`. `what` names the operation.
 */
export function cassandraError(what: string, error: unknown): BackendError {
  const failure = classify(error);
  const detail = (error as DriverErrorLike | undefined)?.message ?? String(error);
  const hint =
    failure === 'write-timeout' || failure === 'deadline'
      ? ' (the write may or may not have been applied: re-read before retrying a conditional write)'
      : '';
  return new BackendError(`cassandra ${what} failed: ${failure}: ${detail}${hint}`, {
    cause: error,
    retryable: RETRYABLE.has(failure),
    status: failure,
  });
}
