import { z } from 'zod';
import { type CatalogSchemas, exportSchemaSnapshot, type SchemaSnapshot, type SnapshotVersion } from '../snapshot.js';
import { compareJsonSchemas, type Direction } from './json-schema-compare.js';
import { type CompatibilityRule, RULE_HINTS } from './rules.js';

/**
 * Confluent's compatibility levels: `backward` (the new catalogue reads
 * events written with the previous one: deploy consumers first), `forward`
 * (the previous catalogue reads events written with the new one: deploy
 * producers first), `full` (both).
 */
export type CompatibilityLevel = 'backward' | 'forward' | 'full';

/** One breaking change found by {@link checkCompatibility}. */
export interface CompatibilityViolation {
  /** The event. */
  event: string;
  /** Its version. */
  version: number;
  /** `backward`: the new catalogue cannot read old events; `forward`: the old catalogue cannot read new ones. */
  direction: Direction;
  /** The rule broken. */
  rule: CompatibilityRule;
  /** The field, e.g. `payload.device` (`payload` for the whole payload, `''` for the event or version itself). */
  path: string;
  /** What changed. */
  message: string;
  /** How to fix it. */
  hint: string;
}

/** What {@link checkCompatibility} found. */
export interface CompatibilityReport {
  /** The level checked. */
  level: CompatibilityLevel;
  /** True when there is no violation. */
  compatible: boolean;
  /** Every violation, by event, version and path. */
  violations: readonly CompatibilityViolation[];
}

/** Options of {@link checkCompatibility}. */
export interface CompatibilityOptions {
  /** The level to check (default `'backward'`). */
  level?: CompatibilityLevel | undefined;
}

const optionsSchema = z.object({
  level: z.enum(['backward', 'forward', 'full'], { error: "level must be 'backward', 'forward' or 'full'" }).optional(),
});

const isSnapshot = (value: CatalogSchemas | SchemaSnapshot): value is SchemaSnapshot =>
  (value as SchemaSnapshot).format === 1 && typeof (value as SchemaSnapshot).events === 'object';

function compareOne(
  previous: SchemaSnapshot,
  current: SchemaSnapshot,
  directions: readonly Direction[],
  out: CompatibilityViolation[],
): void {
  const add = (
    event: string,
    version: number,
    direction: Direction,
    rule: CompatibilityRule,
    path: string,
    message: string,
  ) => out.push({ event, version, direction, rule, path, message, hint: RULE_HINTS[rule] });
  const backward = directions.includes('backward');
  const forward = directions.includes('forward');

  for (const [event, before] of Object.entries(previous.events)) {
    const now = current.events[event];
    if (!now) {
      if (backward)
        add(event, before.latest, 'backward', 'event-removed', '', 'the event is no longer in the catalogue');
      continue;
    }
    for (const [key, old] of Object.entries(before.versions)) {
      const version = Number(key);
      const next = now.versions[key];
      if (!next) {
        if (backward)
          add(event, version, 'backward', 'version-removed', '', `v${version} is no longer in the catalogue`);
        continue;
      }
      // A released version is a contract: changed in place, it must still read (and be read by) the other side.
      if (backward) {
        for (const f of compareJsonSchemas(next.readSchema, old.schema, 'backward')) {
          add(event, version, 'backward', f.rule, f.path, f.message);
        }
      }
      if (forward) {
        for (const f of compareJsonSchemas(old.readSchema, next.schema, 'forward')) {
          add(event, version, 'forward', f.rule, f.path, f.message);
        }
      }
    }
    const versions = Object.keys(now.versions)
      .map(Number)
      .sort((a, b) => a - b);
    for (const [i, version] of versions.entries()) {
      if (before.versions[String(version)]) continue;
      const added = now.versions[String(version)] as SnapshotVersion;
      const prior = i > 0 ? (now.versions[String(versions[i - 1])] as SnapshotVersion) : undefined;
      // Old events reach a new version through its upcaster: it must have been run on the version before's examples.
      if (backward && added.upcast && prior && prior.examples === 0) {
        add(
          event,
          version,
          'backward',
          'upcaster-unverified',
          '',
          `the upcaster from v${versions[i - 1]} ran on no example (v${versions[i - 1]} declares none)`,
        );
      }
      if (forward && version > before.latest) {
        add(
          event,
          version,
          'forward',
          'version-added',
          '',
          `consumers of the previous catalogue know up to v${before.latest} and dead-letter v${version}`,
        );
      }
    }
  }
  if (forward) {
    for (const [event, now] of Object.entries(current.events)) {
      if (!previous.events[event]) {
        add(event, now.latest, 'forward', 'event-added', '', 'consumers of the previous catalogue dead-letter it');
      }
    }
  }
}

/**
 * Checks a catalogue (or its snapshot) against the snapshot of a previous
 * release, at a Confluent compatibility level. Several previous snapshots
 * (oldest releases included) give Confluent's `*_TRANSITIVE` levels.
 *
 * What is compared, precisely:
 * - every version the previous release declared must still be declared
 *   (`backward`: its events are still in the topics), and its schema, if
 *   changed in place, must read the previous one's data (`backward`: new
 *   `readSchema` ⊇ old `schema`) and/or be read by it (`forward`);
 * - a new version is reached from old events by its upcaster, which the
 *   catalogue runs on the version before's `examples` when it is defined
 *   (failing there): `backward` requires those examples to exist
 *   (`upcaster-unverified` otherwise); `forward` reports it (`version-added`),
 *   since consumers of the previous release dead-letter versions newer than
 *   they know; likewise a new event (`event-added`).
 *
 * @example
 * ```ts
 * const report = checkCompatibility(events, parseSchemaSnapshot(readFileSync('events.schema.json', 'utf8')), {
 *   level: 'full',
 * });
 * for (const v of report.violations) console.log(`${v.event} v${v.version} ${v.path}: ${v.rule}`);
 * ```
 */
export function checkCompatibility(
  current: CatalogSchemas | SchemaSnapshot,
  previous: SchemaSnapshot | readonly SchemaSnapshot[],
  options: CompatibilityOptions = {},
): CompatibilityReport {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`checkCompatibility: ${parsed.error.issues[0]?.message}`);
  const level = parsed.data.level ?? 'backward';
  const directions: Direction[] = level === 'full' ? ['backward', 'forward'] : [level];
  const now = isSnapshot(current) ? current : exportSchemaSnapshot(current);
  const violations: CompatibilityViolation[] = [];
  for (const before of Array.isArray(previous) ? previous : [previous]) compareOne(before, now, directions, violations);
  const seen = new Set<string>();
  const unique = violations.filter((v) => {
    const key = `${v.event}\u0000${v.version}\u0000${v.direction}\u0000${v.rule}\u0000${v.path}\u0000${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { level, compatible: unique.length === 0, violations: unique };
}

/** One readable line per violation: `play.started v2 payload.device: field-added-required (backward): … Fix: …`. */
export function formatViolations(report: CompatibilityReport): string[] {
  return report.violations.map(
    (v) =>
      `${v.event} v${v.version}${v.path ? ` ${v.path}` : ''}: ${v.rule} (${v.direction}): ${v.message}. Fix: ${v.hint}`,
  );
}
