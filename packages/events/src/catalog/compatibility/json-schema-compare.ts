import type { CompatibilityRule } from './rules.js';

/** Which way data flows: `backward` = the new schema reads old data; `forward` = the old schema reads new data. */
export type Direction = 'backward' | 'forward';

/** One way a writer's data may fail a reader's schema. @internal */
export interface SchemaFinding {
  /** Where, e.g. `payload.device` or `payload.items[].id`. */
  path: string;
  rule: CompatibilityRule;
  message: string;
}

type Schema = Record<string, unknown>;

/** How deep a comparison may nest (zod's schemas stay far below; a cycle through a union branch does not). */
const MAX_DEPTH = 64;

/** How many schema pairs one comparison may visit (a zod catalogue's event needs a few hundred). */
const MAX_STEPS = 20_000;

/** What a comparison and its trial comparisons (union branches) share: reference pairs compared, nesting depth, pairs visited. */
interface Walk {
  seen: Set<string>;
  depth: number;
  budget: { steps: number };
}

const UNSUPPORTED = ['allOf', 'not', 'if', 'then', 'else', 'prefixItems', 'patternProperties', 'contains'] as const;
const LOWER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'] as const;
const UPPER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'] as const;
const EXACT = ['pattern', 'format'] as const;

const isObject = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The JSON types a schema admits, or undefined for any. */
function typesOf(schema: Schema): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if ('const' in schema) return [jsonType(schema.const)];
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map(jsonType))];
  if (isObject(schema.properties) || 'additionalProperties' in schema) return ['object'];
  if ('items' in schema) return ['array'];
  return undefined;
}

/** The values an enum or const schema admits, or undefined for "any of its type". */
function valuesOf(schema: Schema): unknown[] | undefined {
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.enum)) return schema.enum;
  return undefined;
}

const accepts = (readerTypes: string[], type: string): boolean =>
  readerTypes.includes(type) || (type === 'integer' && readerTypes.includes('number'));

const show = (value: unknown): string => JSON.stringify(value);

/** Compares one reader and one writer JSON Schema (zod's `z.toJSONSchema` output), both with their roots for `$ref`s. */
class Comparison {
  readonly #findings: SchemaFinding[] = [];
  readonly #walk: Walk;
  readonly direction: Direction;
  readonly readerRoot: Schema;
  readonly writerRoot: Schema;

  constructor(
    direction: Direction,
    readerRoot: Schema,
    writerRoot: Schema,
    walk: Walk = { seen: new Set(), depth: 0, budget: { steps: 0 } },
  ) {
    this.direction = direction;
    this.readerRoot = readerRoot;
    this.writerRoot = writerRoot;
    this.#walk = walk;
  }

  get findings(): SchemaFinding[] {
    return this.#findings;
  }

  /** `backward` names the new schema the reader; `forward` the old one. */
  #rule(backward: CompatibilityRule, forward: CompatibilityRule): CompatibilityRule {
    return this.direction === 'backward' ? backward : forward;
  }

  #add(path: string, rule: CompatibilityRule, message: string): void {
    this.#findings.push({ path, rule, message });
  }

  #resolve(schema: unknown, root: Schema): Schema {
    let current = schema;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string' && hops < 32; hops++) {
      const ref = current.$ref;
      if (ref === '#') {
        current = root;
        continue;
      }
      const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
      const defs = match ? (root[match[1] as string] as Schema | undefined) : undefined;
      current = match && defs ? defs[decodeURIComponent(match[2] as string)] : {};
    }
    if (current === true || current === undefined) return {};
    if (current === false) return { not: {} };
    return isObject(current) ? current : {};
  }

  /** Findings of reading what `writer` admits with `reader`, at `path`. */
  compare(readerIn: unknown, writerIn: unknown, path: string): void {
    // Unions of unions multiply the work: past the budget, the whole comparison is reported as unproven.
    if (++this.#walk.budget.steps > MAX_STEPS) return;
    if (this.#walk.depth >= MAX_DEPTH) {
      // Only a reference cycle the `$ref` pairs above do not catch (one through a union branch) gets here.
      this.#add(path, 'unsupported-change', `nested deeper than ${MAX_DEPTH} levels (a reference cycle?)`);
      return;
    }
    this.#walk.depth++;
    try {
      this.#compareAt(readerIn, writerIn, path);
    } finally {
      this.#walk.depth--;
    }
  }

  #compareAt(readerIn: unknown, writerIn: unknown, path: string): void {
    if (isObject(readerIn) && isObject(writerIn) && (readerIn.$ref || writerIn.$ref)) {
      // A recursive schema: comparing the same pair of definitions again proves nothing new.
      const key = `${show(readerIn.$ref)}|${show(writerIn.$ref)}`;
      if (this.#walk.seen.has(key)) return;
      this.#walk.seen.add(key);
    }
    const reader = this.#resolve(readerIn, this.readerRoot);
    const writer = this.#resolve(writerIn, this.writerRoot);

    // The writer's union: every branch must be readable.
    const writerBranches = (writer.anyOf ?? writer.oneOf) as unknown[] | undefined;
    if (Array.isArray(writerBranches)) {
      const { anyOf: _a, oneOf: _o, ...base } = writer;
      for (const branch of writerBranches)
        this.compare(reader, { ...base, ...this.#resolve(branch, this.writerRoot) }, path);
      return;
    }
    // The reader's union: some branch must read the writer's data.
    const readerBranches = (reader.anyOf ?? reader.oneOf) as unknown[] | undefined;
    if (Array.isArray(readerBranches)) {
      const { anyOf: _a, oneOf: _o, ...base } = reader;
      let best: SchemaFinding[] | undefined;
      for (const branch of readerBranches) {
        // A branch's own reference pairs: a pair a failed branch visited must be compared again for the next one.
        const trial = new Comparison(this.direction, this.readerRoot, this.writerRoot, {
          seen: new Set(this.#walk.seen),
          depth: this.#walk.depth,
          budget: this.#walk.budget,
        });
        trial.compare({ ...base, ...this.#resolve(branch, this.readerRoot) }, writer, path);
        if (trial.findings.length === 0) return;
        if (!best || trial.findings.length < best.length) best = trial.findings;
      }
      this.#findings.push(...(best ?? []));
      return;
    }

    for (const keyword of UNSUPPORTED) {
      if ((keyword in reader || keyword in writer) && !same(reader[keyword], writer[keyword])) {
        this.#add(path, 'unsupported-change', `'${keyword}' differs and cannot be compared`);
      }
    }

    const readerTypes = typesOf(reader);
    const writerTypes = typesOf(writer);
    if (readerTypes) {
      if (!writerTypes) {
        this.#add(
          path,
          this.#rule('type-narrowed', 'type-widened'),
          `${this.#newOld('reader')} admits only ${readerTypes.join(' | ')} where ${this.#newOld('writer')} admits any value`,
        );
        return;
      }
      const unread = writerTypes.filter((type) => !accepts(readerTypes, type));
      if (unread.length > 0) {
        const numeric = unread.every((type) => type === 'number') && readerTypes.includes('integer');
        this.#add(
          path,
          numeric ? this.#rule('type-narrowed', 'type-widened') : 'type-changed',
          `${this.#newOld('writer')} writes ${unread.join(' | ')}; ${this.#newOld('reader')} reads ${readerTypes.join(' | ')}`,
        );
        if (unread.length === writerTypes.length) return;
      }
    }

    const readerValues = valuesOf(reader);
    if (readerValues) {
      const writerValues = valuesOf(writer);
      if (!writerValues) {
        this.#add(
          path,
          this.#rule('enum-value-removed', 'enum-value-added'),
          `${this.#newOld('reader')} accepts only ${readerValues.map(show).join(', ')}; ${this.#newOld('writer')} writes any value of its type`,
        );
      } else {
        const unread = writerValues.filter((value) => !readerValues.some((known) => same(known, value)));
        if (unread.length > 0) {
          this.#add(
            path,
            this.#rule('enum-value-removed', 'enum-value-added'),
            `${unread.map(show).join(', ')} ${this.direction === 'backward' ? 'no longer accepted (old events may carry it)' : 'written by the new schema, refused by the old'}`,
          );
        }
      }
    }

    this.#constraints(reader, writer, path);
    if ((readerTypes ?? []).includes('object') || isObject(reader.properties)) this.#object(reader, writer, path);
    if ('items' in reader && (writerTypes ?? []).includes('array'))
      this.compare(reader.items, writer.items ?? {}, `${path}[]`);
  }

  /** "the new schema" / "the old schema" for the reader or writer, by direction. */
  #newOld(side: 'reader' | 'writer'): string {
    const isNew = (side === 'reader') === (this.direction === 'backward');
    return isNew ? 'the new schema' : 'the old schema';
  }

  #constraints(reader: Schema, writer: Schema, path: string): void {
    const tightened = this.#rule('constraint-tightened', 'constraint-loosened');
    for (const keyword of LOWER) {
      const r = reader[keyword];
      const w = writer[keyword];
      if (typeof r === 'number' && (typeof w !== 'number' || r > w)) {
        this.#add(path, tightened, `${keyword} ${w ?? '(none)'} → ${r} as read`);
      }
    }
    for (const keyword of UPPER) {
      const r = reader[keyword];
      const w = writer[keyword];
      if (typeof r === 'number' && (typeof w !== 'number' || r < w)) {
        this.#add(path, tightened, `${keyword} ${w ?? '(none)'} → ${r} as read`);
      }
    }
    for (const keyword of EXACT) {
      if (reader[keyword] !== undefined && !same(reader[keyword], writer[keyword])) {
        this.#add(path, tightened, `${keyword} ${show(writer[keyword] ?? null)} → ${show(reader[keyword])} as read`);
      }
    }
    const r = reader.multipleOf;
    const w = writer.multipleOf;
    if (typeof r === 'number' && (typeof w !== 'number' || (w / r) % 1 !== 0)) {
      this.#add(path, tightened, `multipleOf ${w ?? '(none)'} → ${r} as read`);
    }
    if (reader.uniqueItems === true && writer.uniqueItems !== true) {
      this.#add(path, tightened, 'uniqueItems required as read');
    }
  }

  #object(reader: Schema, writer: Schema, path: string): void {
    const readerProps = (isObject(reader.properties) ? reader.properties : {}) as Schema;
    const writerProps = (isObject(writer.properties) ? writer.properties : {}) as Schema;
    const readerRequired = new Set(Array.isArray(reader.required) ? (reader.required as string[]) : []);
    const writerRequired = new Set(Array.isArray(writer.required) ? (writer.required as string[]) : []);
    const readerExtra = reader.additionalProperties;
    const writerExtra = writer.additionalProperties;
    const at = (key: string): string => `${path}.${key}`;

    for (const key of readerRequired) {
      if (writerRequired.has(key)) continue;
      if (key in writerProps) {
        this.#add(
          at(key),
          this.#rule('field-made-required', 'field-made-optional'),
          this.direction === 'backward'
            ? 'required by the new schema; old events may omit it'
            : 'required by the old schema; new events may omit it',
        );
      } else {
        this.#add(
          at(key),
          this.#rule('field-added-required', 'field-removed'),
          this.direction === 'backward'
            ? 'required by the new schema; old events do not have it'
            : 'required by the old schema; new events do not have it',
        );
      }
    }
    for (const [key, writerField] of Object.entries(writerProps)) {
      if (key in readerProps) {
        this.compare(readerProps[key], writerField, at(key));
      } else if (readerExtra === false) {
        this.#add(
          at(key),
          this.#rule('field-removed-strict', 'field-added-strict'),
          this.direction === 'backward'
            ? 'old events carry it; the new strict object refuses unknown fields'
            : 'new events carry it; the old strict object refuses unknown fields',
        );
      } else if (isObject(readerExtra)) {
        this.compare(readerExtra, writerField, at(key));
      }
    }
    const writerOpen = writerExtra === undefined || writerExtra === true;
    if (readerExtra === false && (writerOpen || isObject(writerExtra))) {
      this.#add(
        path,
        this.#rule('object-closed', 'object-opened'),
        `${this.#newOld('writer')} may write further fields; ${this.#newOld('reader')} refuses them`,
      );
    } else if (isObject(readerExtra) && isObject(writerExtra)) {
      this.compare(readerExtra, writerExtra, `${path}.*`);
    } else if (isObject(readerExtra) && writerOpen && Object.keys(readerExtra).length > 0) {
      this.#add(
        `${path}.*`,
        this.#rule('type-narrowed', 'type-widened'),
        `${this.#newOld('writer')} may write further fields of any type; ${this.#newOld('reader')} types them`,
      );
    }
    if (isObject(reader.propertyNames)) {
      this.compare(reader.propertyNames, writer.propertyNames ?? { type: 'string' }, `${path}{key}`);
    }
  }
}

/**
 * Every way data admitted by `writer` may be refused by `reader` (two JSON
 * Schemas from zod's `z.toJSONSchema`: the writer's `io: 'output'`, the
 * reader's `io: 'input'`). Empty: the reader reads everything the writer
 * writes. Conservative: a keyword it cannot reason about that changed is a
 * finding (`unsupported-change`), never silently accepted.
 * @internal
 */
export function compareJsonSchemas(
  reader: Record<string, unknown>,
  writer: Record<string, unknown>,
  direction: Direction,
  path = 'payload',
): SchemaFinding[] {
  const walk: Walk = { seen: new Set(), depth: 0, budget: { steps: 0 } };
  const comparison = new Comparison(direction, reader, writer, walk);
  comparison.compare(reader, writer, path);
  if (walk.budget.steps > MAX_STEPS) {
    comparison.findings.push({
      path,
      rule: 'unsupported-change',
      message: `too complex to compare (more than ${MAX_STEPS} schema pairs: unions of unions?)`,
    });
  }
  const seen = new Set<string>();
  return comparison.findings.filter((finding) => {
    const key = `${finding.path}\u0000${finding.rule}\u0000${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
