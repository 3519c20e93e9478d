import { EventsError, type EventsErrorCode } from '../errors.js';

/** The codes of {@link RegistryError}. */
export type RegistryErrorCode = Extract<EventsErrorCode, `BACKLOT_EVENTS_REGISTRY_${string}`>;

/** What a {@link RegistryError} is about: the subject, schema id and HTTP status involved, when known. */
export interface RegistryErrorDetails {
  /** The subject of the request, e.g. `play.started`. */
  subject?: string | undefined;
  /** The schema id of the request or record. */
  schemaId?: number | undefined;
  /** The registry's HTTP status, when it answered. */
  status?: number | undefined;
  /** The registry's own error code (Confluent's `error_code`, e.g. 40403, 409), when it gave one. */
  registryCode?: number | undefined;
}

const retryableCodes: ReadonlySet<RegistryErrorCode> = new Set(['BACKLOT_EVENTS_REGISTRY_UNREACHABLE']);

/**
 * A schema-registry failure, with a stable `code`:
 * - `BACKLOT_EVENTS_REGISTRY_UNREACHABLE`: no answer in time, a connection failure or a 5xx/429
 *   after the bounded retries; `retryable` — the producer keeps the events and sends them later;
 * - `BACKLOT_EVENTS_REGISTRY_REFUSED`: the registry refused the request for good (an incompatible
 *   or invalid schema: 409/422, a 4xx); events of that schema are dead-lettered;
 * - `BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA`: no such schema id (or the schema is not registered
 *   under the subject and `autoRegister` is off);
 * - `BACKLOT_EVENTS_REGISTRY_BAD_RESPONSE`: an answer that is not what the Confluent API specifies;
 * - `BACKLOT_EVENTS_REGISTRY_BAD_FRAME`: a record that starts with the magic byte 0 but is not a
 *   valid wire-format frame (truncated header, missing envelope headers).
 */
export class RegistryError extends EventsError {
  declare readonly code: RegistryErrorCode;
  /** The subject of the failed request, when there was one. */
  readonly subject: string | undefined;
  /** The schema id involved, when known. */
  readonly schemaId: number | undefined;
  /** The registry's HTTP status, when it answered. */
  readonly status: number | undefined;
  /** The registry's own error code, when it gave one. */
  readonly registryCode: number | undefined;
  /** True when trying again later may succeed (the registry was unreachable or failing). */
  readonly retryable: boolean;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}, options?: ErrorOptions) {
    super(code, message, options);
    this.subject = details.subject;
    this.schemaId = details.schemaId;
    this.status = details.status;
    this.registryCode = details.registryCode;
    this.retryable = retryableCodes.has(code);
  }
}

/** True when `error` is a {@link RegistryError}, from any copy of the package. */
export function isRegistryError(error: unknown): error is RegistryError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[Symbol.for('backlot.error')] === true &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('BACKLOT_EVENTS_REGISTRY_')
  );
}
