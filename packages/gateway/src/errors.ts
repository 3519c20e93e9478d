const kBacklotError = Symbol.for('backlot.error');

/**
 * Every stable error code of `@backlot/gateway`, in one place. Codes that the
 * gateway answers to clients are paired with their HTTP status in
 * {@link ERROR_STATUS}.
 */
export const GATEWAY_ERROR_CODES = [
  'BACKLOT_GATEWAY_INVALID_CONFIG',
  'BACKLOT_GATEWAY_INVALID_FILTER',
  'BACKLOT_GATEWAY_NO_ROUTE',
  'BACKLOT_GATEWAY_BAD_REQUEST',
  'BACKLOT_GATEWAY_METHOD_NOT_ALLOWED',
  'BACKLOT_GATEWAY_REQUEST_TIMEOUT',
  'BACKLOT_GATEWAY_CLIENT_CLOSED',
  'BACKLOT_GATEWAY_ORIGIN_ERROR',
  'BACKLOT_GATEWAY_ORIGIN_TIMEOUT',
  'BACKLOT_GATEWAY_SHED',
  'BACKLOT_GATEWAY_CIRCUIT_OPEN',
  'BACKLOT_GATEWAY_UNAUTHORIZED',
  'BACKLOT_GATEWAY_FORBIDDEN',
  'BACKLOT_GATEWAY_RATE_LIMITED',
  'BACKLOT_GATEWAY_BODY_TOO_LARGE',
  'BACKLOT_GATEWAY_HEADERS_TOO_LARGE',
  'BACKLOT_GATEWAY_RESPONSE_TOO_LARGE',
  'BACKLOT_GATEWAY_SHUTTING_DOWN',
  'BACKLOT_GATEWAY_FILTER_FAILED',
  'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
  'BACKLOT_GATEWAY_MISSING_PEER',
] as const;

/** A stable, machine-readable error code of the gateway. */
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** HTTP status and short JSON `error` name the gateway answers for each client-facing code. */
export const ERROR_STATUS: Readonly<Record<GatewayErrorCode, readonly [status: number, error: string]>> = {
  BACKLOT_GATEWAY_INVALID_CONFIG: [500, 'invalid_config'],
  BACKLOT_GATEWAY_INVALID_FILTER: [500, 'invalid_filter'],
  BACKLOT_GATEWAY_NO_ROUTE: [404, 'no_route'],
  BACKLOT_GATEWAY_BAD_REQUEST: [400, 'bad_request'],
  BACKLOT_GATEWAY_METHOD_NOT_ALLOWED: [405, 'method_not_allowed'],
  BACKLOT_GATEWAY_REQUEST_TIMEOUT: [408, 'request_timeout'],
  BACKLOT_GATEWAY_CLIENT_CLOSED: [499, 'client_closed_request'],
  BACKLOT_GATEWAY_ORIGIN_ERROR: [502, 'origin_unavailable'],
  BACKLOT_GATEWAY_ORIGIN_TIMEOUT: [504, 'origin_timeout'],
  BACKLOT_GATEWAY_SHED: [503, 'overloaded'],
  BACKLOT_GATEWAY_CIRCUIT_OPEN: [503, 'circuit_open'],
  BACKLOT_GATEWAY_UNAUTHORIZED: [401, 'unauthorized'],
  BACKLOT_GATEWAY_FORBIDDEN: [403, 'forbidden'],
  BACKLOT_GATEWAY_RATE_LIMITED: [429, 'rate_limited'],
  BACKLOT_GATEWAY_BODY_TOO_LARGE: [413, 'body_too_large'],
  BACKLOT_GATEWAY_HEADERS_TOO_LARGE: [431, 'headers_too_large'],
  BACKLOT_GATEWAY_RESPONSE_TOO_LARGE: [502, 'response_too_large'],
  BACKLOT_GATEWAY_SHUTTING_DOWN: [503, 'shutting_down'],
  BACKLOT_GATEWAY_FILTER_FAILED: [500, 'filter_failed'],
  BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED: [503, 'rate_limit_unavailable'],
  BACKLOT_GATEWAY_MISSING_PEER: [500, 'missing_peer'],
};

/**
 * Whose fault a failure is: `client` (what the client sent or did: a
 * malformed or refused request, a body over a limit or too slow, a client
 * that went away), `origin` (what the origin did: connect errors, resets,
 * timeouts, bad answers) or `gateway` (its config or a filter). Only `origin`
 * failures count toward an origin's health: its circuit breaker, outlier
 * detection, retries and adaptive limit.
 */
export type Fault = 'client' | 'origin' | 'gateway';

/** The {@link Fault} of each code. */
export const ERROR_FAULT: Readonly<Record<GatewayErrorCode, Fault>> = {
  BACKLOT_GATEWAY_INVALID_CONFIG: 'gateway',
  BACKLOT_GATEWAY_INVALID_FILTER: 'gateway',
  BACKLOT_GATEWAY_NO_ROUTE: 'client',
  BACKLOT_GATEWAY_BAD_REQUEST: 'client',
  BACKLOT_GATEWAY_METHOD_NOT_ALLOWED: 'client',
  BACKLOT_GATEWAY_REQUEST_TIMEOUT: 'client',
  BACKLOT_GATEWAY_CLIENT_CLOSED: 'client',
  BACKLOT_GATEWAY_ORIGIN_ERROR: 'origin',
  BACKLOT_GATEWAY_ORIGIN_TIMEOUT: 'origin',
  BACKLOT_GATEWAY_SHED: 'gateway',
  BACKLOT_GATEWAY_CIRCUIT_OPEN: 'origin',
  BACKLOT_GATEWAY_UNAUTHORIZED: 'client',
  BACKLOT_GATEWAY_FORBIDDEN: 'client',
  BACKLOT_GATEWAY_RATE_LIMITED: 'client',
  BACKLOT_GATEWAY_BODY_TOO_LARGE: 'client',
  BACKLOT_GATEWAY_HEADERS_TOO_LARGE: 'client',
  BACKLOT_GATEWAY_RESPONSE_TOO_LARGE: 'origin',
  BACKLOT_GATEWAY_SHUTTING_DOWN: 'gateway',
  BACKLOT_GATEWAY_FILTER_FAILED: 'gateway',
  BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED: 'gateway',
  BACKLOT_GATEWAY_MISSING_PEER: 'gateway',
};

/**
 * The message clients get for codes whose detail is internal (origin
 * addresses, library wording, a filter's exception): a fixed text per code.
 * The detail goes to the access log and the span only.
 */
const PUBLIC_MESSAGE: Partial<Record<GatewayErrorCode, string>> = {
  BACKLOT_GATEWAY_ORIGIN_ERROR: 'the origin could not be reached or did not answer properly',
  BACKLOT_GATEWAY_ORIGIN_TIMEOUT: 'the origin did not answer in time',
  BACKLOT_GATEWAY_CIRCUIT_OPEN: 'the origin is unavailable for a moment; retry later',
  BACKLOT_GATEWAY_SHED: 'the gateway is at its concurrency limit; retry later',
  BACKLOT_GATEWAY_RESPONSE_TOO_LARGE: "the origin's response is too large",
  BACKLOT_GATEWAY_FILTER_FAILED: 'the request could not be processed',
  BACKLOT_GATEWAY_INVALID_CONFIG: 'the gateway is misconfigured',
  BACKLOT_GATEWAY_INVALID_FILTER: 'the gateway is misconfigured',
  BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED: 'the rate limiter is unavailable for a moment; retry later',
  BACKLOT_GATEWAY_MISSING_PEER: 'the gateway is misconfigured',
};

/** The message answered to the client for `error`: fixed per code where the detail is internal. */
export function publicMessage(error: GatewayError): string {
  return PUBLIC_MESSAGE[error.code] ?? error.message;
}

/**
 * Base class of every error the gateway throws or answers with. Recognise
 * them with {@link isGatewayError} (a brand shared across copies of the
 * package), and by `code`.
 */
export class GatewayError extends Error {
  /** Stable, machine-readable code. */
  readonly code: GatewayErrorCode;
  /** HTTP status the gateway answers with for this error. */
  readonly status: number;
  /** Extra response headers (e.g. `retry-after`, `www-authenticate`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whose fault the failure is; only `origin` faults count toward an origin's health. */
  readonly fault: Fault;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(
    code: GatewayErrorCode,
    message: string,
    options?: ErrorOptions & { headers?: Record<string, string> | undefined },
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_STATUS[code][0];
    this.headers = options?.headers ?? {};
    this.fault = ERROR_FAULT[code];
  }
}

/** Thrown when a gateway config (or a reloaded one) is invalid; `issues` name each bad field and its fix. */
export class InvalidConfigError extends GatewayError {
  /** One line per problem: `routes[0].match.path: must start with '/'`. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options?: ErrorOptions) {
    super('BACKLOT_GATEWAY_INVALID_CONFIG', `invalid gateway config:\n  ${issues.join('\n  ')}`, options);
    this.name = 'InvalidConfigError';
    this.issues = issues;
  }
}

/** True for any error of `@backlot/gateway`, from any copy of the package. */
export function isGatewayError(error: unknown): error is GatewayError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('BACKLOT_GATEWAY_')
  );
}

/** True for an {@link InvalidConfigError}, from any copy of the package. */
export function isInvalidConfigError(error: unknown): error is InvalidConfigError {
  return isGatewayError(error) && error.code === 'BACKLOT_GATEWAY_INVALID_CONFIG';
}
