import { z } from 'zod';
import { SchemaSnapshotError } from '../errors.js';
import type { EventJsonSchema, EventVersionDefinition } from './types.js';

/** What a snapshot is built from: an `EventCatalog` (any of its `Defs`). */
export interface CatalogSchemas {
  /** The event names. */
  readonly names: readonly string[];
  /** Every version of an event, oldest first. */
  versions(name: string): readonly EventVersionDefinition[];
  /** Every version's JSON Schemas. */
  jsonSchemas(): readonly EventJsonSchema[];
}

/** One version in a {@link SchemaSnapshot}. */
export interface SnapshotVersion {
  /** The payload as written (zod output), JSON Schema draft 2020-12. */
  schema: Record<string, unknown>;
  /** The payload as read by `decode()` (zod input). */
  readSchema: Record<string, unknown>;
  /** Whether this version is reached by an upcaster from the version before. */
  upcast: boolean;
  /** How many examples of this version the catalogue runs through the upcasters when it is defined. */
  examples: number;
}

/**
 * The JSON Schemas of every version of every event of a catalogue, as
 * committed next to it (`backlot-events export`) and compared by
 * `checkCompatibility` / `backlot-events check`.
 */
export interface SchemaSnapshot {
  /** Format of this file (1). */
  format: 1;
  /** By event name: the latest version (what producers emit) and every version by number. */
  events: Record<string, { latest: number; versions: Record<string, SnapshotVersion> }>;
}

const jsonObject = z.record(z.string(), z.unknown());

const snapshotSchema = z.object({
  format: z.literal(1, { error: 'format must be 1: write the file with `backlot-events export`' }),
  events: z.record(
    z.string().min(1),
    z.object({
      latest: z.number().int().positive(),
      versions: z.record(
        z.string().regex(/^[1-9][0-9]*$/, 'version keys are positive integers'),
        z.object({
          schema: jsonObject,
          readSchema: jsonObject,
          upcast: z.boolean(),
          examples: z.number().int().min(0),
        }),
      ),
    }),
  ),
});

/** The snapshot of `catalog`: every version's JSON Schemas, with whether it has an upcaster and examples. */
export function exportSchemaSnapshot(catalog: CatalogSchemas): SchemaSnapshot {
  const events: SchemaSnapshot['events'] = {};
  for (const { name, version, schema, readSchema } of catalog.jsonSchemas()) {
    const definitions = catalog.versions(name);
    const definition = definitions.find((v) => v.version === version);
    events[name] ??= { latest: definitions[definitions.length - 1]?.version ?? version, versions: {} };
    const entry = events[name];
    entry.versions[String(version)] = {
      schema,
      readSchema,
      upcast: typeof definition?.upcast === 'function',
      examples: definition?.examples?.length ?? 0,
    };
  }
  return { format: 1, events };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** The snapshot as stable text: keys sorted at every level, two-space indents, a final newline. */
export function formatSchemaSnapshot(snapshot: SchemaSnapshot): string {
  return `${JSON.stringify(sortKeys(snapshot), null, 2)}\n`;
}

/**
 * Reads a snapshot written by {@link formatSchemaSnapshot}.
 * @throws {SchemaSnapshotError} naming `source` and the bad field.
 */
export function parseSchemaSnapshot(text: string, source = 'snapshot'): SchemaSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SchemaSnapshotError(`${source} is not JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SchemaSnapshotError(
      `${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}; regenerate it with \`backlot-events export\``,
      { cause: parsed.error },
    );
  }
  return parsed.data as SchemaSnapshot;
}
