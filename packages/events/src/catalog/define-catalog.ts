import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EventEncodeError, InvalidEventError, UnknownEventError } from '../errors.js';
import { chainJsonSchemas } from './json-schemas.js';
import type {
  EventDefinition,
  EventDefinitions,
  EventJsonSchema,
  EventPayload,
  EventPayloadInput,
  EventVersionDefinition,
} from './types.js';
import { issuesOf, parseVersion, readAnyVersion, type VersionChain, versionChain } from './versions.js';

export type {
  EventDefinition,
  EventDefinitions,
  EventJsonSchema,
  EventPayload,
  EventPayloadInput,
  EventVersionDefinition,
} from './types.js';

/** An event with its envelope: identity, time, origin and trace context. */
export interface EventEnvelope<Name extends string = string, Payload = unknown> {
  /** Unique id, for de-duplication downstream. */
  id: string;
  /** Event name, e.g. `play.started`. */
  name: Name;
  /** Schema version of the payload: the latest of the catalogue after `decode()` (older versions are upcast). */
  version: number;
  /** When the event happened (ISO-8601, UTC). */
  time: string;
  /** The service that emitted it. */
  source: string;
  /** Trace or request id in scope when it was emitted. */
  traceId?: string | undefined;
  /** The validated payload. */
  payload: Payload;
}

/** Any envelope of catalogue `Defs`, discriminated by `name`. */
export type AnyEventEnvelope<Defs extends EventDefinitions> = {
  [Name in keyof Defs & string]: EventEnvelope<Name, EventPayload<Defs, Name>>;
}[keyof Defs & string];

/** Options of {@link EventCatalog.envelope}. */
export interface EnvelopeOptions {
  /** The emitting service. */
  source: string;
  /** Trace or request id to carry. */
  traceId?: string | undefined;
  /** Override the event time (default: now). */
  time?: Date | undefined;
  /** Override the event id (default: a random UUID); re-emitting with the same id lets consumers de-duplicate. */
  id?: string | undefined;
}

/** A typed set of events, validating them on the way in and out. */
export interface EventCatalog<Defs extends EventDefinitions> {
  /** The event names in the catalogue. */
  readonly names: readonly (keyof Defs & string)[];
  /**
   * Validates `payload` and wraps it in an envelope.
   * @throws {InvalidEventError} naming each bad field.
   * @throws {UnknownEventError} for a name outside the catalogue.
   */
  envelope<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options: EnvelopeOptions,
  ): EventEnvelope<Name, EventPayload<Defs, Name>>;
  /**
   * Serialises an envelope for the wire (UTF-8 JSON).
   * @throws {EventEncodeError} when the payload cannot be encoded (a BigInt or a cycle under `z.any()`, say).
   */
  encode(envelope: AnyEventEnvelope<Defs>): Buffer;
  /**
   * Parses and validates bytes from the wire. An event of an older version is
   * validated with that version's schema and lifted through the upcasters:
   * the result always has the latest version and shape.
   * @throws {InvalidEventError} when the envelope or payload is malformed (naming the version).
   * @throws {UnknownEventError} for a name outside the catalogue.
   * @throws {EventVersionError} for a version the catalogue does not declare (newer than its latest, say).
   * @throws {UpcastError} when an upcaster throws or its output fails the next version's schema.
   */
  decode(bytes: Uint8Array | string): AnyEventEnvelope<Defs>;
  /** The latest version of event `name`: the one `envelope()` (and so a producer) writes. */
  versionOf(name: keyof Defs & string): number;
  /** Every version of event `name`, oldest first, with its schema, upcaster and examples. */
  versions(name: keyof Defs & string): readonly EventVersionDefinition[];
  /**
   * The JSON Schema of every version of every event, sorted by name then
   * version: for documentation, other languages and schema registries.
   */
  jsonSchemas(): readonly EventJsonSchema[];
}

const envelopeSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  version: z.number().int().positive(),
  time: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  traceId: z.string().min(1).optional(),
  payload: z.unknown(),
});

const optionsSchema = z.object({
  source: z
    .string({ error: 'source is required: the name of the emitting service' })
    .min(1, 'source must not be empty'),
  traceId: z.string().min(1, 'traceId must not be empty when given').optional(),
  time: z.date().optional(),
  id: z.string().min(1, 'id must not be empty when given').optional(),
});

const nonEmpty = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/** Whether envelope options are certainly valid per `optionsSchema` (a fast check; `false` means "ask the schema"). */
function validOptions(options: EnvelopeOptions | undefined): boolean {
  return (
    typeof options === 'object' &&
    options !== null &&
    nonEmpty(options.source) &&
    (options.traceId === undefined || nonEmpty(options.traceId)) &&
    (options.id === undefined || nonEmpty(options.id)) &&
    (options.time === undefined || (options.time instanceof Date && !Number.isNaN(options.time.getTime())))
  );
}

/**
 * Declares the events a service may emit, each with a zod payload schema and
 * a version. A schema whose parsed payload cannot be written as JSON and read
 * back (`z.date()`, `z.bigint()`, `z.map()`, transforms, …) is refused here
 * with a {@link CatalogError}, rather than every such event failing `decode()`
 * downstream. The returned catalogue builds, encodes and decodes envelopes with
 * compile-time types and run-time validation.
 *
 * @example
 * ```ts
 * const events = defineEventCatalog({
 *   'play.started': { version: 1, payload: z.object({ profileId: z.string(), titleId: z.string() }) },
 * });
 * const event = events.envelope('play.started', { profileId: 'p1', titleId: '80100172' }, { source: 'play-api' });
 * producer.send({ topic: 'events', messages: [{ key: 'p1', value: events.encode(event) }] });
 * ```
 */
export function defineEventCatalog<const Defs extends EventDefinitions>(definitions: Defs): EventCatalog<Defs> {
  const names = Object.keys(definitions) as (keyof Defs & string)[];
  if (names.length === 0) throw new TypeError('defineEventCatalog: declare at least one event');
  const chains = new Map<string, VersionChain>(
    names.map((name) => [name, versionChain(name, definitions[name] as EventDefinition)]),
  );
  let schemas: readonly EventJsonSchema[] | undefined;

  const chainOf = (name: string): VersionChain => {
    const chain = Object.hasOwn(definitions, name) ? chains.get(name) : undefined;
    if (!chain) throw new UnknownEventError(name, names);
    return chain;
  };

  return {
    names,

    envelope(name, payload, options) {
      // The usual, valid options skip the schema (this runs once per event); anything else gets its precise error.
      if (!validOptions(options)) {
        const opts = optionsSchema.safeParse(options);
        if (!opts.success) throw new InvalidEventError(name, issuesOf(opts.error, 'options'), { cause: opts.error });
      }
      const chain = chainOf(name);
      const version = chain.latest.version;
      return {
        id: options.id ?? randomUUID(),
        name,
        version,
        time: (options.time ?? new Date()).toISOString(),
        source: options.source,
        ...(options.traceId ? { traceId: options.traceId } : {}),
        payload: parseVersion(name, chain.latest, payload) as EventPayload<Defs, typeof name>,
      };
    },

    encode(envelope) {
      let text: string;
      try {
        text = JSON.stringify(envelope);
      } catch (error) {
        throw new EventEncodeError(envelope.name, error instanceof Error ? error.message : String(error), {
          cause: error,
        });
      }
      return Buffer.from(text, 'utf8');
    },

    decode(bytes) {
      let raw: unknown;
      try {
        raw = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
      } catch (error) {
        throw new InvalidEventError(undefined, [{ path: '', message: 'not valid JSON', rule: 'not-json' }], {
          cause: error,
        });
      }
      const envelope = envelopeSchema.safeParse(raw);
      if (!envelope.success) {
        throw new InvalidEventError(undefined, issuesOf(envelope.error, ''), { cause: envelope.error });
      }
      const { name, payload, traceId, version, ...rest } = envelope.data;
      const chain = chainOf(name);
      return {
        ...rest,
        name,
        version: chain.latest.version,
        ...(traceId ? { traceId } : {}),
        payload: readAnyVersion(chain, version, payload),
      } as AnyEventEnvelope<Defs>;
    },

    versionOf(name) {
      return chainOf(name).latest.version;
    },

    versions(name) {
      return chainOf(name).versions;
    },

    jsonSchemas() {
      schemas ??= Object.freeze(chainJsonSchemas([...chains.values()]));
      return schemas;
    },
  };
}
