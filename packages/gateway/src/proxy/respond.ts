import type { ServerResponse } from 'node:http';
import { isCircuitOpenError, isRejectedError, isTimeoutError } from '@backlot/resilience';
import { errors as undiciErrors } from 'undici';
import { ERROR_STATUS, GatewayError, isGatewayError, publicMessage } from '../errors.js';
import { clientFailure, faultOf } from './fault.js';

/** The JSON body of every error the gateway answers: `{ error, message, requestId }`. */
export function errorBody(error: string, message: string, requestId: string): string {
  return JSON.stringify({ error, message, requestId });
}

/** Maps an origin failure (before any response byte) to the gateway error answered to the client. */
export function originFailure(error: unknown, origin: string, sleepWindowMs: number): GatewayError {
  if (isGatewayError(error)) return error;
  if (faultOf(error) === 'client') return clientFailure(error);
  if (isTimeoutError(error) || error instanceof undiciErrors.HeadersTimeoutError) {
    return new GatewayError('BACKLOT_GATEWAY_ORIGIN_TIMEOUT', `origin '${origin}' did not answer in time`, {
      cause: error,
    });
  }
  if (isCircuitOpenError(error)) {
    return new GatewayError('BACKLOT_GATEWAY_CIRCUIT_OPEN', `origin '${origin}' is short-circuited`, {
      cause: error,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(sleepWindowMs / 1000))) },
    });
  }
  if (isRejectedError(error)) {
    return new GatewayError('BACKLOT_GATEWAY_SHED', `origin '${origin}' is at its concurrency limit`, {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  return new GatewayError(
    'BACKLOT_GATEWAY_ORIGIN_ERROR',
    `origin '${origin}' failed: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

/**
 * Zuul's retry rule for a failure before any response byte: connect errors
 * and resets are retryable; timeouts only for idempotent methods; circuit
 * open, shedding and the gateway's own errors never.
 */
export function isRetryableFailure(error: unknown, idempotent: boolean): boolean {
  if (isGatewayError(error) || isCircuitOpenError(error) || isRejectedError(error)) return false;
  if (isTimeoutError(error) || error instanceof undiciErrors.HeadersTimeoutError) return idempotent;
  const code = (error as { code?: unknown })?.code;
  const causeCode = (error as { cause?: { code?: unknown } })?.cause?.code;
  return (
    (typeof code === 'string' && (CONNECT_CODES.has(code) || RESET_CODES.has(code))) ||
    (typeof causeCode === 'string' && (CONNECT_CODES.has(causeCode) || RESET_CODES.has(causeCode)))
  );
}

/** Writes a small JSON error (or destroys the response if its head is already out). */
export function writeError(
  res: ServerResponse,
  error: GatewayError,
  requestId: string,
  headers?: Record<string, string | string[] | number>,
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const [, name] = errorName(error);
  const body = errorBody(name, publicMessage(error), requestId);
  res.writeHead(error.status, {
    ...headers,
    ...error.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function errorName(error: GatewayError): readonly [number, string] {
  return [error.status, ERROR_NAMES[error.code] ?? 'error'];
}

const ERROR_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(ERROR_STATUS).map(([code, [, name]]) => [code, name]),
);
