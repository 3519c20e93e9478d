import type { z } from 'zod';
import type { EventDefinition, EventVersionDefinition } from './types.js';

/** What {@link VersionedEvent.evolve} takes: the next version, its schema and how to lift the previous payload. */
export interface NextVersion<Previous extends z.ZodType, Next extends z.ZodType> {
  /** The new version number: greater than the previous one. */
  version: number;
  /** zod schema of the new version's payload. */
  payload: Next;
  /**
   * Lifts a decoded payload of the previous version to this version's input
   * (validated by `payload` afterwards). Pure and total: it runs in every
   * consumer, on every old event.
   */
  upcast: (previous: z.output<Previous>) => z.input<Next>;
  /** Sample payloads of this version, lifted through the later upcasters when the catalogue is defined. */
  examples?: readonly z.input<Next>[] | undefined;
}

/**
 * An event with several versions side by side, built by {@link defineEvent}:
 * `version` and `payload` are the latest's, `versions` lists every version
 * oldest first. Usable wherever an {@link EventDefinition} is.
 */
export interface VersionedEvent<Payload extends z.ZodType> extends EventDefinition<Payload> {
  /** Every version, oldest first; the last one is `version` / `payload`. */
  readonly versions: readonly EventVersionDefinition[];
  /**
   * Adds the next version, with the upcaster from the current latest. The
   * result's `payload` (and so the catalogue's types) is the new version's.
   */
  evolve<Next extends z.ZodType>(next: NextVersion<Payload, Next>): VersionedEvent<Next>;
}

function versioned<Payload extends z.ZodType>(versions: readonly EventVersionDefinition[]): VersionedEvent<Payload> {
  const latest = versions[versions.length - 1] as EventVersionDefinition;
  return {
    version: latest.version,
    payload: latest.payload as Payload,
    versions,
    evolve<Next extends z.ZodType>(next: NextVersion<Payload, Next>): VersionedEvent<Next> {
      return versioned<Next>([
        ...versions,
        {
          version: next.version,
          payload: next.payload,
          upcast: next.upcast as (previous: unknown) => unknown,
          ...(next.examples ? { examples: next.examples } : {}),
        },
      ]);
    },
  };
}

/**
 * Starts an event definition whose schema evolves: its first version, then
 * `.evolve({ version, payload, upcast })` per later version. Decoding an
 * older version parses it with its own schema and lifts it through each
 * upcaster, so handlers always get the latest shape; producers emit the
 * latest version of their catalogue. Checked by `defineEventCatalog`
 * (increasing versions, an upcaster per later version, examples that survive
 * the chain).
 *
 * @example
 * ```ts
 * const events = defineEventCatalog({
 *   'play.started': defineEvent({
 *     version: 1,
 *     payload: z.object({ profileId: z.string(), titleId: z.string() }),
 *     examples: [{ profileId: 'p1', titleId: 't1' }],
 *   }).evolve({
 *     version: 2,
 *     payload: z.object({ profileId: z.string(), titleId: z.string(), device: z.enum(['tv', 'web']) }),
 *     upcast: (v1) => ({ ...v1, device: 'tv' as const }),
 *   }),
 * });
 * const event = events.decode(
 *   JSON.stringify({
 *     id: '1', name: 'play.started', version: 1, time: new Date().toISOString(), source: 'old-api',
 *     payload: { profileId: 'p1', titleId: 't1' },
 *   }),
 * );
 * console.log(event.version, event.payload); // 2 { profileId: 'p1', titleId: 't1', device: 'tv' }
 * ```
 */
export function defineEvent<Payload extends z.ZodType>(first: {
  /** The first version's number (usually 1). */
  version: number;
  /** Its payload schema. */
  payload: Payload;
  /** Sample payloads of this version, lifted through the later upcasters when the catalogue is defined. */
  examples?: readonly z.input<Payload>[] | undefined;
}): VersionedEvent<Payload> {
  return versioned<Payload>([
    { version: first.version, payload: first.payload, ...(first.examples ? { examples: first.examples } : {}) },
  ]);
}
