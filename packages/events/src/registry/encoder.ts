import type { EventEnvelope } from '../catalog/define-catalog.js';
import { EventEncodeError } from '../errors.js';
import type { OutgoingMessage } from '../transport/types.js';
import type { SchemaRegistryClient } from './client.js';
import { ENVELOPE_HEADERS } from './envelope-headers.js';
import { RegistryError } from './errors.js';
import type { SchemaSource } from './schema-source.js';
import { type SubjectStrategy, subjectOf } from './subjects.js';
import { frame, isFramed } from './wire-format.js';

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
