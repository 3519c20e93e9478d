import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compareJsonSchemas } from '../src/catalog/compatibility/json-schema-compare.js';
import {
  checkCompatibility,
  defineEventCatalog,
  exportSchemaSnapshot,
  isSchemaSnapshotError,
  parseSchemaSnapshot,
} from '../src/index.js';

/** A small description of a zod schema, from which both the schema and its valid values are built. */
type Spec =
  | { kind: 'string'; min: number }
  | { kind: 'number' }
  | { kind: 'int' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'array'; of: Spec }
  | { kind: 'nullable'; of: Spec }
  | { kind: 'object'; strict: boolean; fields: Field[] };
interface Field {
  key: string;
  optional: boolean;
  spec: Spec;
}

const { spec: specArb } = fc.letrec<{ spec: Spec; leaf: Spec }>((tie) => ({
  leaf: fc.oneof(
    fc.record({ kind: fc.constant('string' as const), min: fc.integer({ min: 0, max: 3 }) }),
    fc.constant({ kind: 'number' as const }),
    fc.constant({ kind: 'int' as const }),
    fc.constant({ kind: 'bool' as const }),
    fc.record({
      kind: fc.constant('enum' as const),
      values: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 4 }),
    }),
  ),
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ kind: fc.constant('array' as const), of: tie('leaf') }),
    fc.record({ kind: fc.constant('nullable' as const), of: tie('leaf') }),
    fc.record({
      kind: fc.constant('object' as const),
      strict: fc.boolean(),
      fields: fc.uniqueArray(
        fc.record({ key: fc.constantFrom('p', 'q', 'r'), optional: fc.boolean(), spec: tie('leaf') }),
        { selector: (f) => f.key, maxLength: 3 },
      ),
    }),
  ),
}));

const fieldsArb = fc.uniqueArray(
  fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), optional: fc.boolean(), spec: specArb }),
  { selector: (f) => f.key, minLength: 1, maxLength: 4 },
);

function toZod(spec: Spec): z.ZodType {
  switch (spec.kind) {
    case 'string':
      return z.string().min(spec.min);
    case 'number':
      return z.number();
    case 'int':
      return z.number().int();
    case 'bool':
      return z.boolean();
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'array':
      return z.array(toZod(spec.of));
    case 'nullable':
      return toZod(spec.of).nullable();
    case 'object':
      return objectOf(spec.fields, spec.strict);
  }
}

function objectOf(fields: readonly Field[], strict = false): z.ZodType {
  const shape = Object.fromEntries(fields.map((f) => [f.key, f.optional ? toZod(f.spec).optional() : toZod(f.spec)]));
  return strict ? z.strictObject(shape) : z.object(shape);
}

function valuesFor(spec: Spec): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'string':
      return fc.string({ minLength: spec.min, maxLength: 6 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'int':
      return fc.integer();
    case 'bool':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...spec.values);
    case 'array':
      return fc.array(valuesFor(spec.of), { maxLength: 3 });
    case 'nullable':
      return fc.option(valuesFor(spec.of), { nil: null });
    case 'object':
      return objectValue(spec.fields);
  }
}

function objectValue(fields: readonly Field[]): fc.Arbitrary<unknown> {
  return fc.record(Object.fromEntries(fields.map((f) => [f.key, valuesFor(f.spec)])), {
    requiredKeys: fields.filter((f) => !f.optional).map((f) => f.key),
  });
}

function check(before: z.ZodType, after: z.ZodType, level: 'backward' | 'forward' | 'full') {
  const previous = exportSchemaSnapshot(defineEventCatalog({ e: { version: 1, payload: before } }));
  return checkCompatibility(defineEventCatalog({ e: { version: 1, payload: after } }), previous, { level });
}

/** One change to an object's fields. */
const mutationArb = (fields: Field[]) =>
  fc.oneof(
    fc.record({ op: fc.constant('add-optional' as const), spec: specArb }),
    fc.record({ op: fc.constant('add-required' as const), spec: specArb }),
    fc.record({ op: fc.constant('remove' as const), index: fc.nat(fields.length - 1) }),
    fc.record({ op: fc.constant('toggle-optional' as const), index: fc.nat(fields.length - 1) }),
    fc.record({ op: fc.constant('replace' as const), index: fc.nat(fields.length - 1), spec: specArb }),
  );

type Mutation =
  | { op: 'add-optional' | 'add-required'; spec: Spec }
  | { op: 'remove' | 'toggle-optional'; index: number }
  | { op: 'replace'; index: number; spec: Spec };

function mutate(fields: Field[], m: Mutation): Field[] {
  switch (m.op) {
    case 'add-optional':
      return [...fields, { key: 'new', optional: true, spec: m.spec }];
    case 'add-required':
      return [...fields, { key: 'new', optional: false, spec: m.spec }];
    case 'remove':
      return fields.filter((_, i) => i !== m.index);
    case 'toggle-optional':
      return fields.map((f, i) => (i === m.index ? { ...f, optional: !f.optional } : f));
    case 'replace':
      return fields.map((f, i) => (i === m.index ? { ...f, spec: m.spec } : f));
  }
}

describe('compatibility properties (random zod object schemas)', () => {
  it('every schema is fully compatible with itself', () => {
    fc.assert(fc.property(fieldsArb, (fields) => check(objectOf(fields), objectOf(fields), 'full').compatible));
  });

  it('adding an optional field is backward and forward compatible', () => {
    fc.assert(
      fc.property(fieldsArb, specArb, (fields, spec) => {
        const after = objectOf([...fields, { key: 'new', optional: true, spec }]);
        expect(check(objectOf(fields), after, 'full').violations).toEqual([]);
      }),
    );
  });

  it('removing a required field is backward compatible (z.object strips it) and not forward compatible (field-removed)', () => {
    fc.assert(
      fc.property(fieldsArb, specArb, (fields, spec) => {
        const before = objectOf([...fields, { key: 'gone', optional: false, spec }]);
        expect(check(before, objectOf(fields), 'backward').compatible).toBe(true);
        const forward = check(before, objectOf(fields), 'forward').violations.map((v) => `${v.rule}@${v.path}`);
        expect(forward).toEqual(['field-removed@payload.gone']);
      }),
    );
  });

  it('adding a required field is not backward compatible (field-added-required) and is forward compatible', () => {
    fc.assert(
      fc.property(fieldsArb, specArb, (fields, spec) => {
        const after = objectOf([...fields, { key: 'new', optional: false, spec }]);
        const backward = check(objectOf(fields), after, 'backward').violations.map((v) => `${v.rule}@${v.path}`);
        expect(backward).toEqual(['field-added-required@payload.new']);
        expect(check(objectOf(fields), after, 'forward').compatible).toBe(true);
      }),
    );
  });

  it('sound against zod itself: when the check passes, the reader parses every value the writer admits', () => {
    fc.assert(
      fc.property(
        fieldsArb.chain((fields) =>
          fc.tuple(
            fc.constant(fields),
            mutationArb(fields).chain((m) => {
              const after = mutate(fields, m as Mutation);
              return fc.tuple(fc.constant(after), objectValue(fields), objectValue(after));
            }),
          ),
        ),
        ([before, [after, oldValue, newValue]]) => {
          const oldSchema = objectOf(before);
          const newSchema = objectOf(after);
          if (check(oldSchema, newSchema, 'backward').compatible) {
            expect(newSchema.safeParse(oldValue).success).toBe(true);
          }
          if (check(oldSchema, newSchema, 'forward').compatible) {
            expect(oldSchema.safeParse(newValue).success).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** JSON-Schema-shaped hostile input: every keyword the check reads, `$ref`s that loop or lead nowhere, nonsense values. */
const { node: hostileSchema } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(true, false, {}, { $ref: '#' }, { $ref: '#/$defs/a' }, { $ref: '#/$defs/missing' }, { $ref: 7 }),
    fc.record(
      {
        type: fc.oneof(
          fc.constantFrom('string', 'number', 'integer', 'object', 'array', 'null', 'boolean'),
          fc.jsonValue(),
        ),
        enum: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.jsonValue()),
        const: fc.jsonValue(),
        properties: fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor'), tie('node'), { maxKeys: 3 }),
        required: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c')), fc.jsonValue()),
        additionalProperties: tie('node'),
        propertyNames: tie('node'),
        items: tie('node'),
        anyOf: fc.array(tie('node'), { maxLength: 3 }),
        oneOf: fc.oneof(fc.array(tie('node'), { maxLength: 2 }), fc.jsonValue()),
        $defs: fc.record({ a: tie('node') }),
        $ref: fc.constantFrom('#', '#/$defs/a', '#/definitions/a', '#/$defs/%61', 'http://elsewhere'),
        minimum: fc.oneof(fc.double(), fc.jsonValue()),
        maximum: fc.double(),
        multipleOf: fc.oneof(fc.constant(0), fc.double()),
        minLength: fc.integer(),
        pattern: fc.string(),
        not: tie('node'),
      },
      { requiredKeys: [] },
    ),
  ),
}));

describe('hostile input', () => {
  it('the JSON Schema comparison never throws or loops, whatever the schemas', () => {
    fc.assert(
      fc.property(hostileSchema, hostileSchema, fc.constantFrom('backward', 'forward' as const), (r, w, direction) => {
        const reader = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
        const writer = (typeof w === 'object' && w !== null ? w : {}) as Record<string, unknown>;
        const findings = compareJsonSchemas(reader, writer, direction);
        expect(Array.isArray(findings)).toBe(true);
        for (const f of findings) expect(f.path.startsWith('payload')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a reference cycle through a union branch ends as unsupported-change (found by the property above)', () => {
    const cyclic = { $defs: { a: { anyOf: [{ $ref: '#' }] } }, $ref: '#/$defs/a' };
    const findings = compareJsonSchemas(cyclic, {}, 'backward');
    expect(findings.map((f) => f.rule)).toContain('unsupported-change');
  });

  it('a recursive definition a failed union branch visited is compared again for the next branch', () => {
    const node = (v: string) => ({
      type: 'object',
      properties: { v: { type: v }, next: { $ref: '#/$defs/n' } },
    });
    const reader = {
      $defs: { n: node('string') },
      anyOf: [
        { type: 'object', properties: { kind: { const: 'a' }, node: { $ref: '#/$defs/n' } }, required: ['kind'] },
        { type: 'object', properties: { node: { $ref: '#/$defs/n' } } },
      ],
    };
    const writer = { $defs: { n: node('number') }, type: 'object', properties: { node: { $ref: '#/$defs/n' } } };
    const findings = compareJsonSchemas(reader, writer, 'backward');
    expect(findings.map((f) => `${f.rule}@${f.path}`)).toEqual(['type-changed@payload.node.v']);
  });

  it('parseSchemaSnapshot refuses anything that is not a snapshot with a SchemaSnapshotError, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ format: 1, events: v })),
        ),
        (text) => {
          try {
            parseSchemaSnapshot(text);
          } catch (error) {
            expect(isSchemaSnapshotError(error)).toBe(true);
          }
        },
      ),
    );
  });
});
