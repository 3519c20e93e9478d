import { z } from 'zod';
import type { EventDefinitions, EventVersionDefinition } from '../catalog/types.js';
import { UnknownEventError } from '../errors.js';

/** The JSON Schema keyword that names the event a registered schema belongs to. */
export const EVENT_KEYWORD = 'x-backlot-event';
/** The JSON Schema keyword that holds the event version a registered schema belongs to. */
export const VERSION_KEYWORD = 'x-backlot-version';

/** @internal One event version's JSON Schema, as registry mode registers it. */
export interface EventSchema {
  readonly name: string;
  readonly version: number;
  /** The JSON Schema document, as text (what is registered and cached by). */
  readonly text: string;
}

/** @internal Gives the JSON Schema registry mode registers for an event name (at the version the producer emits). */
export type SchemaSource = (name: string) => EventSchema;

/** @internal The version a producer emits of an event and its payload schema. */
export type EmittedVersionOf = (name: string) => Pick<EventVersionDefinition, 'version' | 'payload'>;

/** @internal The emitted version of each event, from the definitions given to `defineEventCatalog`. */
export function emittedFromDefinitions(definitions: EventDefinitions): EmittedVersionOf {
  const names = Object.keys(definitions);
  return (name) => {
    if (!Object.hasOwn(definitions, name)) throw new UnknownEventError(name, names);
    return definitions[name] as EventDefinitions[string];
  };
}

/** @internal The emitted version of each event, from a catalogue: its latest version (what `envelope()` writes). */
export function emittedFromCatalog(catalog: {
  versions(name: string): readonly EventVersionDefinition[];
}): EmittedVersionOf {
  return (name) => {
    const versions = catalog.versions(name);
    return versions[versions.length - 1] as EventVersionDefinition;
  };
}

/**
 * @internal Where registry mode gets each event's JSON Schema: the one place coupled to the
 * catalogue. `z.toJSONSchema` of the emitted version's payload, output side, as draft-07 (the
 * draft registries' compatibility checkers all read — Apicurio 3.3 answers 500 to a 2020-12
 * schema under a compatibility rule), with `title`, `x-backlot-event` and `x-backlot-version`
 * added so that a schema fetched by id tells which event and version it describes. Computed once
 * per event.
 */
export function schemaSourceOf(emitted: EmittedVersionOf): SchemaSource {
  const cache = new Map<string, EventSchema>();
  return (name) => {
    const cached = cache.get(name);
    if (cached) return cached;
    const { version, payload } = emitted(name);
    const document = {
      ...z.toJSONSchema(payload, { io: 'output', target: 'draft-7' }),
      title: name,
      [EVENT_KEYWORD]: name,
      [VERSION_KEYWORD]: version,
    };
    const schema: EventSchema = { name, version, text: JSON.stringify(document) };
    cache.set(name, schema);
    return schema;
  };
}

/** @internal The event name and version a registered schema document declares, when it does. */
export function eventOfSchema(text: string): { name: string | undefined; version: number | undefined } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { name: undefined, version: undefined };
  }
  if (typeof document !== 'object' || document === null) return { name: undefined, version: undefined };
  const record = document as Record<string, unknown>;
  const name = record[EVENT_KEYWORD] ?? record.title;
  const version = record[VERSION_KEYWORD];
  return {
    name: typeof name === 'string' && name.length > 0 ? name : undefined,
    version: typeof version === 'number' && Number.isInteger(version) && version > 0 ? version : undefined,
  };
}
