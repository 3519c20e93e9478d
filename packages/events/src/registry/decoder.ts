import type { ConsumedMessage } from '../transport/types.js';
import type { SchemaRegistryClient } from './client.js';
import { ENVELOPE_HEADERS } from './envelope-headers.js';
import { RegistryError } from './errors.js';
import { eventOfSchema } from './schema-source.js';
import { isFramed, unframe } from './wire-format.js';

/**
 * @internal The consumer side of registry mode: gives back the plain JSON envelope of a
 * consumed record for the catalogue to decode and validate. A wire-format record is read
 * by its schema id (fetched once, then cached): the event name and version from the schema,
 * the payload from the value, the rest of the envelope from its headers. Any other record
 * is returned as it is, so a topic can hold both while it migrates.
 */
export class RegistryDecoder {
  readonly #client: SchemaRegistryClient;
  /** The event name and version each schema id declares, read once per id. */
  readonly #declared = new Map<number, ReturnType<typeof eventOfSchema>>();

  constructor(client: SchemaRegistryClient) {
    this.#client = client;
  }

  /**
   * The envelope of `message` as JSON text or bytes, for `catalog.decode`.
   * @throws {RegistryError} `…_BAD_FRAME` (a truncated header, envelope headers missing),
   * `…_UNKNOWN_SCHEMA` (no such id; both for good), `…_UNREACHABLE` (retryable).
   */
  async envelope(message: ConsumedMessage): Promise<Buffer | string> {
    const value = message.value;
    if (value === null || !isFramed(value)) return value ?? '';
    const { schemaId, payload } = unframe(value);
    let declared = this.#declared.get(schemaId);
    if (declared === undefined) {
      declared = eventOfSchema((await this.#client.schemaById(schemaId)).schema);
      this.#declared.set(schemaId, declared);
    }
    const headers = message.headers ?? {};
    const header = (name: string): string => {
      const found = headers[name];
      if (found === undefined || found.length === 0) {
        throw new RegistryError(
          'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
          `wire-format record with schema id ${schemaId} lacks the '${name}' header that registry mode writes the envelope to`,
          { schemaId },
        );
      }
      return found;
    };
    const name = declared.name ?? header(ENVELOPE_HEADERS.name);
    const version = declared.version ?? Number(header(ENVELOPE_HEADERS.version));
    const traceId = headers[ENVELOPE_HEADERS.traceId];
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      throw new RegistryError(
        'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
        `wire-format record with schema id ${schemaId} ('${name}'): the payload is not valid JSON`,
        { schemaId },
        { cause: error },
      );
    }
    // Parsed on its own, never spliced as text: a payload cannot add envelope fields.
    return JSON.stringify({
      id: header(ENVELOPE_HEADERS.id),
      name,
      version,
      time: header(ENVELOPE_HEADERS.time),
      source: header(ENVELOPE_HEADERS.source),
      ...(traceId ? { traceId } : {}),
      payload: body,
    });
  }
}
