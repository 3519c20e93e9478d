import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CatalogError,
  defineEvent,
  defineEventCatalog,
  EventVersionError,
  isEventVersionError,
  isInvalidEventError,
  isUpcastError,
  UpcastError,
} from '../src/index.js';
import { thrown } from './helpers.js';

const v1 = z.object({ profileId: z.string().min(1), titleId: z.string() });
const v2 = z.object({ profileId: z.string().min(1), titleId: z.string(), device: z.enum(['tv', 'web']) });
const v3 = z.object({
  profileId: z.string().min(1),
  title: z.object({ id: z.string(), kind: z.enum(['movie', 'episode']) }),
  device: z.enum(['tv', 'web']),
});

const playStarted = defineEvent({ version: 1, payload: v1, examples: [{ profileId: 'p1', titleId: 't1' }] })
  .evolve({ version: 2, payload: v2, upcast: (old) => ({ ...old, device: 'tv' as const }) })
  .evolve({
    version: 3,
    payload: v3,
    upcast: ({ titleId, ...rest }) => ({ ...rest, title: { id: titleId, kind: 'movie' as const } }),
    examples: [{ profileId: 'p3', title: { id: 't3', kind: 'episode' }, device: 'web' }],
  });

const events = defineEventCatalog({
  'play.started': playStarted,
  'search.performed': { version: 1, payload: z.object({ query: z.string() }) },
});

const wire = (name: string, version: number, payload: unknown) =>
  JSON.stringify({ id: `id-${version}`, name, version, time: '2026-12-01T10:00:00.000Z', source: 'test', payload });

describe('versioned events', () => {
  it('emits the latest version and reports every version with its JSON Schemas', () => {
    const event = events.envelope(
      'play.started',
      { profileId: 'p', title: { id: 't', kind: 'movie' }, device: 'web' },
      { source: 's' },
    );
    expect(event.version).toBe(3);
    expect(events.versionOf('play.started')).toBe(3);
    expect(events.versions('play.started').map((v) => v.version)).toEqual([1, 2, 3]);
    expect(events.jsonSchemas().map(({ name, version }) => `${name}@${version}`)).toEqual([
      'play.started@1',
      'play.started@2',
      'play.started@3',
      'search.performed@1',
    ]);
    const [first] = events.jsonSchemas();
    expect(first?.schema).toMatchObject({ type: 'object', required: ['profileId', 'titleId'] });
  });

  it('decodes v1, v2 and v3 to the latest shape, upcasting step by step', () => {
    const fromV1 = events.decode(wire('play.started', 1, { profileId: 'p1', titleId: 't1' }));
    const fromV2 = events.decode(wire('play.started', 2, { profileId: 'p2', titleId: 't2', device: 'web' }));
    const fromV3 = events.decode(
      wire('play.started', 3, { profileId: 'p3', title: { id: 't3', kind: 'episode' }, device: 'tv' }),
    );
    expect([fromV1, fromV2, fromV3].map((e) => [e.version, e.payload])).toEqual([
      [3, { profileId: 'p1', title: { id: 't1', kind: 'movie' }, device: 'tv' }],
      [3, { profileId: 'p2', title: { id: 't2', kind: 'movie' }, device: 'web' }],
      [3, { profileId: 'p3', title: { id: 't3', kind: 'episode' }, device: 'tv' }],
    ]);
  });

  it('validates an old event with its own version schema, naming the version and field', () => {
    const error = thrown(() => events.decode(wire('play.started', 1, { profileId: '', titleId: 't1' })));
    expect(isInvalidEventError(error)).toBe(true);
    expect(error).toMatchObject({ version: 1, issues: [{ path: 'payload.profileId', rule: 'too_small' }] });
  });

  it('refuses a version newer than the catalogue knows, and an undeclared older one, with a coded error', () => {
    expect(() => events.decode(wire('play.started', 4, {}))).toThrow(EventVersionError);
    const newer = thrown(() => events.decode(wire('search.performed', 2, { query: 'q' })));
    expect(isEventVersionError(newer)).toBe(true);
    expect(newer).toMatchObject({ code: 'BACKLOT_EVENT_VERSION_UNKNOWN', eventName: 'search.performed', version: 2 });
    expect((newer as Error).message).toMatch(/newer than this catalogue knows \(latest v1\): deploy consumers/);
    const gapped = defineEventCatalog({
      e: defineEvent({ version: 2, payload: v1 }).evolve({ version: 5, payload: v1, upcast: (x) => x }),
    });
    expect(() => gapped.decode(wire('e', 3, { profileId: 'p', titleId: 't' }))).toThrow(/v3 is not in the catalogue/);
  });

  it('a throwing upcaster, or one whose output fails the next schema, is an UpcastError naming event, versions and field', () => {
    const broken = defineEventCatalog({
      e: defineEvent({ version: 1, payload: v1 })
        .evolve({
          version: 2,
          payload: v2,
          upcast: (old) => {
            if (old.titleId === 'boom') throw new Error('cannot lift boom');
            return { ...old, device: 'phone' as 'tv' };
          },
        })
        .evolve({ version: 3, payload: v3, upcast: () => ({}) as z.input<typeof v3> }),
    });
    const threw = thrown(() => broken.decode(wire('e', 1, { profileId: 'p', titleId: 'boom' })));
    expect(isUpcastError(threw)).toBe(true);
    expect(threw).toMatchObject({ eventName: 'e', fromVersion: 1, toVersion: 2, issues: [] });
    expect((threw as Error).message).toMatch(/from v1 to v2 failed, it threw: cannot lift boom/);
    const invalid = thrown(() => broken.decode(wire('e', 1, { profileId: 'p', titleId: 't' })));
    expect(invalid).toBeInstanceOf(UpcastError);
    expect(invalid).toMatchObject({ fromVersion: 1, toVersion: 2, issues: [{ path: 'payload.device' }] });
  });

  it('keeps the single-version form: its own version, no upcasting', () => {
    const event = events.decode(wire('search.performed', 1, { query: 'q' }));
    expect(event).toMatchObject({ version: 1, payload: { query: 'q' } });
    expect(events.versions('search.performed')).toHaveLength(1);
  });

  it('refuses bad version chains at definition time, naming the event and version', () => {
    expect(() =>
      defineEventCatalog({
        e: defineEvent({ version: 2, payload: v1 }).evolve({ version: 2, payload: v1, upcast: (x) => x }),
      }),
    ).toThrow(/event 'e': v2 follows v2: versions must increase/);
    expect(() =>
      defineEventCatalog({
        e: {
          version: 2,
          payload: v2,
          versions: [
            { version: 1, payload: v1 },
            { version: 2, payload: v2 },
          ],
        },
      }),
    ).toThrow(/v2 needs an upcast\(v1\) function/);
    expect(() =>
      defineEventCatalog({
        e: { version: 3, payload: v2, versions: [{ version: 1, payload: v1 }] },
      }),
    ).toThrow(CatalogError);
    expect(() =>
      defineEventCatalog({
        e: defineEvent({ version: 1, payload: v1 }).evolve({
          version: 2,
          payload: z.object({ at: z.date() }),
          upcast: () => ({ at: new Date() }),
        }),
      }),
    ).toThrow(/v2 payload.at cannot round-trip/);
  });

  it('runs the upcasters over every example when the catalogue is defined: a failing one names event, version and field', () => {
    expect(() =>
      defineEventCatalog({
        e: defineEvent({ version: 1, payload: v1, examples: [{ profileId: 'p', titleId: 't' }] }).evolve({
          version: 2,
          payload: v2,
          upcast: (old) => ({ ...old }) as z.input<typeof v2>,
        }),
      }),
    ).toThrow(
      /event 'e': v1 examples\[0\]: .*upcaster from v1 to v2 failed, its output fails v2's schema: payload.device/,
    );
    expect(() =>
      defineEventCatalog({ e: defineEvent({ version: 1, payload: v1, examples: [{ profileId: '', titleId: 't' }] }) }),
    ).toThrow(/v1 examples\[0\]: invalid event 'e' v1: payload.profileId/);
  });
});
