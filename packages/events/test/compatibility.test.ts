import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type CompatibilityLevel,
  type CompatibilityRule,
  checkCompatibility,
  defineEvent,
  defineEventCatalog,
  exportSchemaSnapshot,
  formatSchemaSnapshot,
  formatViolations,
  isSchemaSnapshotError,
  parseSchemaSnapshot,
  type SchemaSnapshot,
} from '../src/index.js';
import { thrown } from './helpers.js';

/** The findings of changing event `e`'s payload from `before` to `after` in place (same version), at `level`. */
function change(before: z.ZodType, after: z.ZodType, level: CompatibilityLevel) {
  const previous = exportSchemaSnapshot(defineEventCatalog({ e: { version: 1, payload: before } }));
  return checkCompatibility(defineEventCatalog({ e: { version: 1, payload: after } }), previous, { level });
}

const rulesOf = (report: ReturnType<typeof change>) => report.violations.map((v) => `${v.rule}@${v.path}`);

const obj = z.object;
const str = z.string();

/** [rule, level, breaking before → after, safe before → after, the path the breaking change names]. */
const cases: [CompatibilityRule, CompatibilityLevel, [z.ZodType, z.ZodType], [z.ZodType, z.ZodType], string][] = [
  [
    'field-added-required',
    'backward',
    [obj({ a: str }), obj({ a: str, b: str })],
    [obj({ a: str }), obj({ a: str, b: str.default('x') })],
    'payload.b',
  ],
  [
    'field-made-required',
    'backward',
    [obj({ a: str, b: str.optional() }), obj({ a: str, b: str })],
    [obj({ a: str, b: str.optional() }), obj({ a: str, b: str.optional().default('x') })],
    'payload.b',
  ],
  [
    'field-removed',
    'forward',
    [obj({ a: str, b: str }), obj({ a: str })],
    [obj({ a: str, b: str.optional() }), obj({ a: str })],
    'payload.b',
  ],
  [
    'field-made-optional',
    'forward',
    [obj({ a: str, b: str }), obj({ a: str, b: str.optional() })],
    [obj({ a: str, b: str }), obj({ a: str, b: str.default('x') })],
    'payload.b',
  ],
  [
    'field-removed-strict',
    'backward',
    [z.strictObject({ a: str, b: str }), z.strictObject({ a: str })],
    [obj({ a: str, b: str }), obj({ a: str })],
    'payload.b',
  ],
  [
    'field-added-strict',
    'forward',
    [z.strictObject({ a: str }), z.strictObject({ a: str, b: str.optional() })],
    [obj({ a: str }), obj({ a: str, b: str.optional() })],
    'payload.b',
  ],
  [
    'object-closed',
    'backward',
    [z.looseObject({ a: str }), z.strictObject({ a: str })],
    [z.looseObject({ a: str }), obj({ a: str })],
    'payload',
  ],
  [
    'object-opened',
    'forward',
    [z.strictObject({ a: str }), z.looseObject({ a: str })],
    [z.strictObject({ a: str }), obj({ a: str })],
    'payload',
  ],
  [
    'type-changed',
    'backward',
    [obj({ a: str }), obj({ a: z.number() })],
    [obj({ a: str }), obj({ a: z.union([str, z.number()]) })],
    'payload.a',
  ],
  [
    'type-changed',
    'forward',
    [obj({ a: str }), obj({ a: str.nullable() })],
    [obj({ a: str.nullable() }), obj({ a: str })],
    'payload.a',
  ],
  [
    'type-narrowed',
    'backward',
    [obj({ n: z.number() }), obj({ n: z.number().int() })],
    [obj({ n: z.number().int() }), obj({ n: z.number() })],
    'payload.n',
  ],
  [
    'type-widened',
    'forward',
    [obj({ n: z.number().int() }), obj({ n: z.number() })],
    [obj({ n: z.number() }), obj({ n: z.number().int() })],
    'payload.n',
  ],
  [
    'enum-value-removed',
    'backward',
    [obj({ d: z.enum(['tv', 'web']) }), obj({ d: z.enum(['tv']) })],
    [obj({ d: z.enum(['tv']) }), obj({ d: z.enum(['tv', 'web']) })],
    'payload.d',
  ],
  [
    'enum-value-added',
    'forward',
    [obj({ d: z.enum(['tv']) }), obj({ d: z.enum(['tv', 'web']) })],
    [obj({ d: z.enum(['tv', 'web']) }), obj({ d: z.enum(['tv']) })],
    'payload.d',
  ],
  [
    'enum-value-removed',
    'backward',
    [obj({ d: str }), obj({ d: z.literal('tv') })],
    [obj({ d: z.literal('tv') }), obj({ d: z.enum(['tv', 'web']) })],
    'payload.d',
  ],
  [
    'constraint-tightened',
    'backward',
    [obj({ s: str }), obj({ s: str.min(3) })],
    [obj({ s: str.min(3) }), obj({ s: str.min(1) })],
    'payload.s',
  ],
  [
    'constraint-tightened',
    'backward',
    [obj({ s: str }), obj({ s: str.regex(/^[a-z]+$/) })],
    [obj({ s: str.regex(/^[a-z]+$/) }), obj({ s: str })],
    'payload.s',
  ],
  [
    'constraint-loosened',
    'forward',
    [obj({ n: z.number().max(5) }), obj({ n: z.number().max(10) })],
    [obj({ n: z.number().max(10) }), obj({ n: z.number().max(5) })],
    'payload.n',
  ],
  [
    'field-added-required',
    'backward',
    [obj({ items: z.array(obj({ id: str })) }), obj({ items: z.array(obj({ id: str, n: z.number() })) })],
    [obj({ items: z.array(obj({ id: str })) }), obj({ items: z.array(obj({ id: str, n: z.number().optional() })) })],
    'payload.items[].n',
  ],
  [
    'type-changed',
    'backward',
    [obj({ m: z.record(str, z.number()) }), obj({ m: z.record(str, str) })],
    [obj({ m: z.record(str, z.number().int()) }), obj({ m: z.record(str, z.number()) })],
    'payload.m.*',
  ],
  [
    'constraint-tightened',
    'backward',
    [obj({ o: obj({ tags: z.array(str) }) }), obj({ o: obj({ tags: z.array(str).max(3) }) })],
    [obj({ o: obj({ tags: z.array(str).max(3) }) }), obj({ o: obj({ tags: z.array(str) }) })],
    'payload.o.tags',
  ],
];

describe('compatibility rules', () => {
  for (const [rule, level, [breakingFrom, breakingTo], [safeFrom, safeTo], path] of cases) {
    it(`${rule} (${level}) rejects ${path} changed breakingly and accepts the safe change`, () => {
      const breaking = change(breakingFrom, breakingTo, level);
      expect(breaking.compatible).toBe(false);
      expect(rulesOf(breaking)).toContain(`${rule}@${path}`);
      const safe = change(safeFrom, safeTo, level);
      expect(rulesOf(safe)).toEqual([]);
      expect(safe.compatible).toBe(true);
    });
  }

  it('full checks both directions', () => {
    const report = change(obj({ a: str, b: str }), obj({ a: str, c: z.number() }), 'full');
    expect(rulesOf(report).sort()).toEqual(['field-added-required@payload.c', 'field-removed@payload.b']);
    expect(change(obj({ a: str }), obj({ a: str, b: str.optional() }), 'full').compatible).toBe(true);
  });

  it('compares recursive schemas without looping', () => {
    const Tree = z.object({
      v: z.number(),
      get children() {
        return z.array(Tree);
      },
    });
    const Tree2 = z.object({
      v: z.number().int(),
      get children() {
        return z.array(Tree2);
      },
    });
    expect(change(Tree, Tree, 'full').compatible).toBe(true);
    expect(rulesOf(change(Tree, Tree2, 'backward'))).toContain('type-narrowed@payload.v');
  });

  it('refuses to prove a change of a keyword it cannot reason about (unsupported-change)', () => {
    const snapshot = (not: unknown): SchemaSnapshot => ({
      format: 1,
      events: {
        e: {
          latest: 1,
          versions: {
            '1': {
              schema: { type: 'string', not: { const: not } },
              readSchema: { type: 'string', not: { const: not } },
              upcast: false,
              examples: 0,
            },
          },
        },
      },
    });
    expect(checkCompatibility(snapshot('x'), snapshot('y')).violations[0]).toMatchObject({
      rule: 'unsupported-change',
      path: 'payload',
    });
    expect(checkCompatibility(snapshot('x'), snapshot('x')).compatible).toBe(true);
  });

  it('names the event, version, field, rule and fix in one readable line', () => {
    const [line] = formatViolations(change(obj({ a: str }), obj({ a: str, device: str }), 'backward'));
    expect(line).toBe(
      'e v1 payload.device: field-added-required (backward): required by the new schema; old events do not have it. ' +
        'Fix: make the field optional or give it a .default(…), or add a version with an upcaster that fills it',
    );
  });
});

describe('catalogue-level rules', () => {
  const v1 = obj({ a: str });
  const v2 = obj({ a: str, b: z.number() });
  const previous = exportSchemaSnapshot(
    defineEventCatalog({ e: { version: 1, payload: v1 }, gone: { version: 1, payload: v1 } }),
  );

  it('event-removed and version-removed (backward), version-added and event-added (forward)', () => {
    const current = defineEventCatalog({ e: { version: 2, payload: v1 }, added: { version: 1, payload: v1 } });
    expect(
      checkCompatibility(current, previous, { level: 'full' }).violations.map(
        (v) => `${v.rule}:${v.event}@${v.version}`,
      ),
    ).toEqual(['version-removed:e@1', 'version-added:e@2', 'event-removed:gone@1', 'event-added:added@1']);
  });

  it('a new version with an upcaster: backward needs examples of the version before it; forward reports version-added', () => {
    const withoutExamples = defineEventCatalog({
      e: defineEvent({ version: 1, payload: v1 }).evolve({ version: 2, payload: v2, upcast: (x) => ({ ...x, b: 0 }) }),
      gone: { version: 1, payload: v1 },
    });
    expect(rulesOf(checkCompatibility(withoutExamples, previous))).toEqual(['upcaster-unverified@']);
    const withExamples = defineEventCatalog({
      e: defineEvent({ version: 1, payload: v1, examples: [{ a: 'x' }] }).evolve({
        version: 2,
        payload: v2,
        upcast: (x) => ({ ...x, b: 0 }),
      }),
      gone: { version: 1, payload: v1 },
    });
    expect(checkCompatibility(withExamples, previous, { level: 'backward' }).compatible).toBe(true);
    expect(rulesOf(checkCompatibility(withExamples, previous, { level: 'forward' }))).toEqual(['version-added@']);
  });

  it('several previous snapshots: a change compatible with the last release but not an older one is caught (transitive)', () => {
    const r1 = exportSchemaSnapshot(defineEventCatalog({ e: { version: 1, payload: obj({ a: str, b: str }) } }));
    const r2 = exportSchemaSnapshot(defineEventCatalog({ e: { version: 1, payload: obj({ a: str }) } }));
    const r3 = defineEventCatalog({ e: { version: 1, payload: obj({ a: str, b: z.number().optional() }) } });
    expect(checkCompatibility(r3, r2, { level: 'backward' }).compatible).toBe(true);
    expect(rulesOf(checkCompatibility(r3, [r1, r2], { level: 'backward' }))).toEqual(['type-changed@payload.b']);
  });

  it('a bad level is a TypeError naming the option', () => {
    expect(() => checkCompatibility(previous, previous, { level: 'sideways' as 'full' })).toThrow(
      /level must be 'backward', 'forward' or 'full'/,
    );
  });
});

describe('schema snapshot', () => {
  it('formats stably (sorted keys) and parses back', () => {
    const catalog = defineEventCatalog({
      z: { version: 1, payload: obj({ b: str, a: str }) },
      a: { version: 1, payload: obj({}) },
    });
    const text = formatSchemaSnapshot(exportSchemaSnapshot(catalog));
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"z"'));
    expect(text.endsWith('}\n')).toBe(true);
    expect(formatSchemaSnapshot(parseSchemaSnapshot(text))).toBe(text);
  });

  it('a malformed snapshot is a SchemaSnapshotError naming the source and field', () => {
    const error = thrown(() =>
      parseSchemaSnapshot('{"format":1,"events":{"e":{"latest":0,"versions":{}}}}', 'events.schema.json'),
    );
    expect(isSchemaSnapshotError(error)).toBe(true);
    expect((error as Error).message).toMatch(/events.schema.json: events.e.latest: .*backlot-events export/);
    expect(() => parseSchemaSnapshot('not json', 'x.json')).toThrow(/x.json is not JSON/);
  });
});
