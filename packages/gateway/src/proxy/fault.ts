import { type Fault, GatewayError, isGatewayError } from '../errors.js';

/**
 * undici's errors for a request it refuses to build or send (bad header,
 * unsupported option, body not matching its length): what the client sent,
 * not what the origin did.
 */
const CLIENT_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_ASSERTION',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
]);

/**
 * Whose fault a failure of an origin attempt is — the one place that
 * decides. Gateway errors carry their own ({@link GatewayError.fault}: a
 * body over its limit or too slow, a client gone, a refused request are the
 * client's); undici's refusals to build a request are the client's; anything
 * else (connect errors, resets, timeouts, bad answers) is the origin's. Only
 * `origin` faults feed the breaker, outlier detection, retries and the
 * adaptive limit.
 */
export function faultOf(error: unknown): Fault {
  if (isGatewayError(error)) return error.fault;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CLIENT_CODES.has(code)) return 'client';
  return 'origin';
}

/** Whether a failure counts against the origin's health (the origin command's `isBadRequest` is its negation). */
export function isOriginFault(error: unknown): boolean {
  return faultOf(error) === 'origin';
}

/** The error answered for a client-fault failure that is not a gateway error yet (undici refused the request). */
export function clientFailure(error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  return new GatewayError('BACKLOT_GATEWAY_BAD_REQUEST', 'the request cannot be forwarded', { cause: error });
}

/** The error for a client that went away before its request was sent on. */
export function clientClosed(): GatewayError {
  return new GatewayError('BACKLOT_GATEWAY_CLIENT_CLOSED', 'the client closed the request');
}
