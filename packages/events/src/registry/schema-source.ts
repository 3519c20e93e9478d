import { z } from 'zod';
import type { EventDefinitions } from '../catalog/define-catalog.js';
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

/**
 * @internal Where registry mode gets each event's JSON Schema: the one place coupled to the
 * catalogue. Today from the definitions given to `defineEventCatalog` (`z.toJSONSchema` of each
 * payload, output side, as draft-07: the draft registries' compatibility checkers all read —
 * Apicurio 3.3 answers 500 to a 2020-12 schema under a compatibility rule), with `title`, `x-backlot-event` and `x-backlot-version` added so that a
 * schema fetched by id tells which event and version it describes. Computed once per event.
 */
export function schemaSourceOf(definitions: EventDefinitions): SchemaSource {
  const names = Object.keys(definitions);
  const cache = new Map<string, EventSchema>();
  return (name) => {
    const cached = cache.get(name);
    if (cached) return cached;
    if (!Object.hasOwn(definitions, name)) throw new UnknownEventError(name, names);
    const { version, payload } = definitions[name] as EventDefinitions[string];
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
