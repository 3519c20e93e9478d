import type { z } from 'zod';

/** One version of an event: its payload schema and, after the first, the upcaster from the version before. */
export interface EventVersionDefinition {
  /** The version number (a positive integer, greater than the version before). */
  readonly version: number;
  /** zod schema of this version's payload. */
  readonly payload: z.ZodType;
  /** Lifts a decoded payload of the version before to this version's input (every version but the first). */
  readonly upcast?: ((previous: unknown) => unknown) | undefined;
  /** Sample payloads of this version (input), lifted through the later upcasters when the catalogue is defined. */
  readonly examples?: readonly unknown[] | undefined;
}

/**
 * How one event type is declared: its schema version and payload schema, the
 * single-version form `{ version, payload }`, or several versions built by
 * `defineEvent(…).evolve(…)` (then `version` / `payload` are the latest's).
 */
export interface EventDefinition<Payload extends z.ZodType = z.ZodType> {
  /** Schema version of the payload (a positive integer): the latest, which producers emit. */
  readonly version: number;
  /** zod schema of the payload (the latest version's). */
  readonly payload: Payload;
  /** Every version, oldest first, when the event has several (see `defineEvent`). */
  readonly versions?: readonly EventVersionDefinition[] | undefined;
}

/** Event definitions by event name. */
export type EventDefinitions = Record<string, EventDefinition>;

/** The payload type (after parsing) of event `Name`: its latest version's. */
export type EventPayload<Defs extends EventDefinitions, Name extends keyof Defs> = z.output<Defs[Name]['payload']>;

/** What a caller passes as the payload of event `Name` (before parsing): its latest version's. */
export type EventPayloadInput<Defs extends EventDefinitions, Name extends keyof Defs> = z.input<Defs[Name]['payload']>;

/**
 * The JSON Schemas of one version of one event (draft 2020-12, from zod's
 * `z.toJSONSchema`): `schema` is what producers write (zod output: defaults
 * filled in), `readSchema` what `decode()` accepts (zod input).
 */
export interface EventJsonSchema {
  /** Event name. */
  readonly name: string;
  /** Version number. */
  readonly version: number;
  /** The payload as written on the wire (zod output). */
  readonly schema: Record<string, unknown>;
  /** The payload as accepted by `decode()` (zod input). */
  readonly readSchema: Record<string, unknown>;
}
