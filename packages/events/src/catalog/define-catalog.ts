import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CatalogError, EventEncodeError, InvalidEventError, UnknownEventError } from '../errors.js';

/** How one event type is declared: its schema version and payload schema. */
export interface EventDefinition<Payload extends z.ZodType = z.ZodType> {
  /** Schema version of the payload (a positive integer). */
  version: number;
  /** zod schema of the payload. */
  payload: Payload;
}

/** Event definitions by event name. */
export type EventDefinitions = Record<string, EventDefinition>;

/** The payload type (after parsing) of event `Name`. */
export type EventPayload<Defs extends EventDefinitions, Name extends keyof Defs> = z.output<Defs[Name]['payload']>;

/** What a caller passes as the payload of event `Name` (before parsing). */
export type EventPayloadInput<Defs extends EventDefinitions, Name extends keyof Defs> = z.input<Defs[Name]['payload']>;

/** An event with its envelope: identity, time, origin and trace context. */
export interface EventEnvelope<Name extends string = string, Payload = unknown> {
  /** Unique id, for de-duplication downstream. */
  id: string;
  /** Event name, e.g. `play.started`. */
  name: Name;
  /** Schema version of the payload. */
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
   * Parses and validates bytes from the wire.
   * @throws {InvalidEventError} when the envelope or payload is malformed.
   * @throws {UnknownEventError} for a name outside the catalogue.
   */
  decode(bytes: Uint8Array | string): AnyEventEnvelope<Defs>;
}

const definitionSchema = z.object({
  version: z.number().int().positive('version must be a positive integer, e.g. { version: 1, payload }'),
  payload: z.custom<z.ZodType>(
    (value) => value instanceof z.ZodType,
    'payload must be a zod schema, e.g. z.object({…})',
  ),
});

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

/** Why `schema`'s parsed output cannot be written as JSON, or undefined when it can. */
function unrepresentable(schema: z.ZodType): string | undefined {
  try {
    z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', cycles: 'ref' });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The path of the innermost field of `schema` whose output cannot be written as JSON (for the error message). */
function unrepresentablePath(schema: z.ZodType, path: string): string {
  const def = (schema as { _zod?: { def?: { type?: string; shape?: unknown; element?: unknown } } })._zod?.def;
  if (def?.type === 'object' && def.shape && typeof def.shape === 'object') {
    for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
      if (unrepresentable(field) !== undefined) return unrepresentablePath(field, `${path}.${key}`);
    }
  }
  if (def?.type === 'array' && def.element instanceof z.ZodType && unrepresentable(def.element) !== undefined) {
    return unrepresentablePath(def.element, `${path}[]`);
  }
  return path;
}

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

function issuesOf(error: z.ZodError, prefix: string): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
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
  for (const name of names) {
    const checked = definitionSchema.safeParse(definitions[name]);
    if (!checked.success) {
      throw new TypeError(`defineEventCatalog: event '${name}': ${z.prettifyError(checked.error)}`);
    }
    // What emit() accepts must survive the wire (JSON) and decode() again: refuse it here, not in production.
    const payloadSchema = (definitions[name] as EventDefinition).payload;
    const why = unrepresentable(payloadSchema);
    if (why !== undefined) {
      throw new CatalogError(
        name,
        `${unrepresentablePath(payloadSchema, 'payload')} cannot round-trip through the JSON wire encoding (${why}); ` +
          'declare the wire shape instead (z.iso.datetime() for a time, z.string() for a BigInt, plain objects ' +
          'for a Map, arrays for a Set, no transforms) and convert after decode()',
      );
    }
  }

  const definitionOf = (name: string): EventDefinition => {
    if (!Object.hasOwn(definitions, name)) throw new UnknownEventError(name, names);
    return definitions[name] as EventDefinition;
  };

  const parsePayload = (name: string, payload: unknown): unknown => {
    const result = definitionOf(name).payload.safeParse(payload);
    if (!result.success) throw new InvalidEventError(name, issuesOf(result.error, 'payload'), { cause: result.error });
    return result.data;
  };

  return {
    names,

    envelope(name, payload, options) {
      // The usual, valid options skip the schema (this runs once per event); anything else gets its precise error.
      if (!validOptions(options)) {
        const opts = optionsSchema.safeParse(options);
        if (!opts.success) throw new InvalidEventError(name, issuesOf(opts.error, 'options'), { cause: opts.error });
      }
      const { version } = definitionOf(name);
      return {
        id: options.id ?? randomUUID(),
        name,
        version,
        time: (options.time ?? new Date()).toISOString(),
        source: options.source,
        ...(options.traceId ? { traceId: options.traceId } : {}),
        payload: parsePayload(name, payload) as EventPayload<Defs, typeof name>,
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
        throw new InvalidEventError(undefined, [{ path: '', message: 'not valid JSON' }], { cause: error });
      }
      const envelope = envelopeSchema.safeParse(raw);
      if (!envelope.success) {
        throw new InvalidEventError(undefined, issuesOf(envelope.error, ''), { cause: envelope.error });
      }
      const { name, payload, traceId, ...rest } = envelope.data;
      return {
        ...rest,
        name,
        ...(traceId ? { traceId } : {}),
        payload: parsePayload(name, payload),
      } as AnyEventEnvelope<Defs>;
    },
  };
}
