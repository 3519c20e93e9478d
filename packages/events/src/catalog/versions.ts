import { z } from 'zod';
import { CatalogError, type EventIssue, EventVersionError, InvalidEventError, UpcastError } from '../errors.js';
import type { EventDefinition, EventVersionDefinition } from './types.js';
import { unrepresentable, unrepresentablePath } from './wire-safe.js';

/** The versions of one event, checked, oldest first. @internal */
export interface VersionChain {
  readonly name: string;
  readonly versions: readonly EventVersionDefinition[];
  readonly latest: EventVersionDefinition;
  /** Index in `versions` by version number. */
  readonly index: ReadonlyMap<number, number>;
}

const versionSchema = z.object({
  version: z.number().int().positive('version must be a positive integer, e.g. { version: 1, payload }'),
  payload: z.custom<z.ZodType>(
    (value) => value instanceof z.ZodType,
    'payload must be a zod schema, e.g. z.object({…})',
  ),
  upcast: z.custom<(previous: unknown) => unknown>((value) => typeof value === 'function').optional(),
  examples: z.array(z.unknown(), { error: 'examples must be an array of payloads' }).optional(),
});

/** @internal zod issues as {@link EventIssue}s under `prefix`. */
export function issuesOf(error: z.ZodError, prefix: string): EventIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
    rule: issue.code,
  }));
}

/** Validates `payload` against one version's schema. @internal */
export function parseVersion(name: string, step: EventVersionDefinition, payload: unknown): unknown {
  const result = step.payload.safeParse(payload);
  if (!result.success) {
    throw new InvalidEventError(name, issuesOf(result.error, 'payload'), {
      cause: result.error,
      version: step.version,
    });
  }
  return result.data;
}

/** Lifts a payload already valid for `versions[from]` through each later upcaster, validating every step. @internal */
function lift(chain: VersionChain, from: number, payload: unknown): unknown {
  let value = payload;
  for (let i = from + 1; i < chain.versions.length; i++) {
    const step = chain.versions[i] as EventVersionDefinition;
    const previous = (chain.versions[i - 1] as EventVersionDefinition).version;
    let lifted: unknown;
    try {
      lifted = (step.upcast as (previous: unknown) => unknown)(value);
    } catch (error) {
      throw new UpcastError(chain.name, previous, step.version, [], { cause: error });
    }
    const result = step.payload.safeParse(lifted);
    if (!result.success) {
      throw new UpcastError(chain.name, previous, step.version, issuesOf(result.error, 'payload'), {
        cause: result.error,
      });
    }
    value = result.data;
  }
  return value;
}

/**
 * Validates a payload of `version` with that version's schema and lifts it to
 * the latest version.
 * @throws {EventVersionError} for a version the chain does not declare.
 * @throws {InvalidEventError} when the payload fails its version's schema.
 * @throws {UpcastError} when an upcaster throws or its output fails the next schema.
 * @internal
 */
export function readAnyVersion(chain: VersionChain, version: number, payload: unknown): unknown {
  if (version === chain.latest.version) return parseVersion(chain.name, chain.latest, payload);
  const at = chain.index.get(version);
  if (at === undefined) {
    throw new EventVersionError(
      chain.name,
      version,
      chain.versions.map((v) => v.version),
    );
  }
  return lift(chain, at, parseVersion(chain.name, chain.versions[at] as EventVersionDefinition, payload));
}

/**
 * Checks one event's definition and returns its version chain: each version a
 * positive integer greater than the one before, an upcaster on every version
 * but the first, payloads that survive the JSON wire, and examples valid for
 * their version that every later upcaster lifts to a valid payload.
 * @throws {CatalogError} naming the event, version and field.
 * @internal
 */
export function versionChain(name: string, definition: EventDefinition): VersionChain {
  const head = versionSchema.pick({ version: true, payload: true }).safeParse(definition);
  if (!head.success) throw new TypeError(`defineEventCatalog: event '${name}': ${z.prettifyError(head.error)}`);
  const declared = definition.versions ?? [{ version: definition.version, payload: definition.payload }];
  if (!Array.isArray(declared) || declared.length === 0) {
    throw new CatalogError(
      name,
      'versions must list at least one version: build it with defineEvent({ version, payload })',
    );
  }
  const versions: EventVersionDefinition[] = [];
  const index = new Map<number, number>();
  for (const [i, step] of declared.entries()) {
    const checked = versionSchema.safeParse(step);
    if (!checked.success) {
      throw new CatalogError(name, `versions[${i}]: ${z.prettifyError(checked.error)}`);
    }
    const previous = versions[i - 1];
    if (previous && step.version <= previous.version) {
      throw new CatalogError(name, `v${step.version} follows v${previous.version}: versions must increase`);
    }
    if (previous && typeof step.upcast !== 'function') {
      throw new CatalogError(name, `v${step.version} needs an upcast(v${previous.version}) function`);
    }
    // What emit() accepts must survive the wire (JSON) and decode() again: refuse it here, not in production.
    const why = unrepresentable(step.payload);
    if (why !== undefined) {
      throw new CatalogError(
        name,
        `${declared.length > 1 ? `v${step.version} ` : ''}${unrepresentablePath(step.payload, 'payload')} cannot round-trip through the JSON wire encoding (${why}); ` +
          'declare the wire shape instead (z.iso.datetime() for a time, z.string() for a BigInt, plain objects ' +
          'for a Map, arrays for a Set, no transforms) and convert after decode()',
      );
    }
    index.set(step.version, i);
    versions.push(step);
  }
  const latest = versions[versions.length - 1] as EventVersionDefinition;
  if (latest.version !== definition.version || latest.payload !== definition.payload) {
    throw new CatalogError(name, `version and payload must be the latest version's (v${latest.version})`);
  }
  const chain: VersionChain = { name, versions, latest, index };
  for (const [i, step] of versions.entries()) {
    for (const [n, example] of (step.examples ?? []).entries()) {
      try {
        lift(chain, i, parseVersion(name, step, example));
      } catch (error) {
        throw new CatalogError(
          name,
          `v${step.version} examples[${n}]: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
  }
  return chain;
}
