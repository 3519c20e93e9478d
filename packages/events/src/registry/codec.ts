import type { EventEnvelope } from '../catalog/define-catalog.js';
import { EventEncodeError } from '../errors.js';
import type { ConsumedMessage, OutgoingMessage } from '../transport/types.js';
import type { SchemaRegistryClient } from './client.js';
import { ENVELOPE_HEADERS } from './envelope-headers.js';
import { RegistryError } from './errors.js';
import { eventOfSchema, type SchemaSource } from './schema-source.js';
import { type SubjectStrategy, subjectOf } from './subjects.js';
import { frame, isFramed, unframe } from './wire-format.js';

/** @internal What the producer side of registry mode needs. */
export interface RegistryEncoderOptions {
  readonly client: SchemaRegistryClient;
  readonly schemas: SchemaSource;
  readonly subjects: SubjectStrategy;
  readonly autoRegister: boolean;
}

/**
 * @internal Turns a record holding a plain JSON envelope (as the producer keeps it in memory
 * and in the spool) into a wire-format record: the schema id of the event's JSON Schema
 * (registered or looked up once, then cached), the payload as the value, the envelope in headers.
 */
export class RegistryEncoder {
  readonly #options: RegistryEncoderOptions;
  /** Schema ids resolved so far, by topic and event name: what lets `frameNow` frame at `emit`. */
  readonly #ids = new Map<string, number>();

  constructor(options: RegistryEncoderOptions) {
    this.#options = options;
  }

  /**
   * The wire-format value and envelope headers of `envelope` if its schema id is known
   * already (no I/O: the producer frames at `emit` then), else `undefined` (the producer keeps
   * the plain envelope, framed by {@link frame} when sent).
   * @throws {EventEncodeError} when the payload cannot be written as JSON.
   */
  frameNow(topic: string, envelope: EventEnvelope): { value: Buffer; headers: Record<string, string> } | undefined {
    const id = this.#ids.get(`${topic}\u0000${envelope.name}`);
    if (id === undefined) return undefined;
    let text: string;
    try {
      text = JSON.stringify(envelope.payload);
    } catch (error) {
      throw new EventEncodeError(envelope.name, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    return { value: frame(id, text), headers: envelopeHeaders(envelope) };
  }

  /**
   * The wire-format form of `message`; a record framed already is returned as it is.
   * @throws {RegistryError} `…_UNREACHABLE` (retryable), `…_REFUSED` or `…_UNKNOWN_SCHEMA` (for good).
   */
  async frame(topic: string, message: OutgoingMessage): Promise<OutgoingMessage> {
    if (isFramed(message.value)) return message;
    const envelope = parseEnvelope(message.value);
    const { client, schemas, subjects, autoRegister } = this.#options;
    const schema = schemas(envelope.name);
    const subject = subjectOf(subjects, topic, envelope.name);
    const registered = { schemaType: 'JSON' as const, schema: schema.text };
    const id = autoRegister ? await client.register(subject, registered) : await client.lookup(subject, registered);
    this.#ids.set(`${topic}\u0000${envelope.name}`, id);
    return {
      key: message.key,
      timestamp: message.timestamp,
      value: frame(id, JSON.stringify(envelope.payload)),
      headers: { ...message.headers, ...envelopeHeaders(envelope) },
    };
  }
}

/** @internal The envelope of a registry-mode record, as Kafka headers (see {@link ENVELOPE_HEADERS}). */
export function envelopeHeaders(envelope: EventEnvelope): Record<string, string> {
  const headers: Record<string, string> = {
    [ENVELOPE_HEADERS.id]: envelope.id,
    [ENVELOPE_HEADERS.name]: envelope.name,
    [ENVELOPE_HEADERS.version]: String(envelope.version),
    [ENVELOPE_HEADERS.time]: envelope.time,
    [ENVELOPE_HEADERS.source]: envelope.source,
  };
  if (envelope.traceId) headers[ENVELOPE_HEADERS.traceId] = envelope.traceId;
  return headers;
}

function parseEnvelope(value: Buffer): EventEnvelope {
  let envelope: unknown;
  try {
    envelope = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new RegistryError(
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      'record to frame is neither in the wire format nor a JSON event envelope',
      {},
      { cause: error },
    );
  }
  const { id, name, version, time, source } = (envelope ?? {}) as Partial<EventEnvelope>;
  if (
    typeof id !== 'string' ||
    typeof name !== 'string' ||
    typeof version !== 'number' ||
    typeof time !== 'string' ||
    typeof source !== 'string'
  ) {
    throw new RegistryError(
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      'record to frame is not an event envelope (id, name, version, time, source, payload)',
    );
  }
  return envelope as EventEnvelope;
}

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
