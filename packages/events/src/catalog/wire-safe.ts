import { z } from 'zod';

/** Why `schema`'s parsed output cannot be written as JSON, or undefined when it can. @internal */
export function unrepresentable(schema: z.ZodType): string | undefined {
  try {
    z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', cycles: 'ref' });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The path of the innermost field of `schema` whose output cannot be written as JSON (for the error message). @internal */
export function unrepresentablePath(schema: z.ZodType, path: string): string {
  const def = (schema as { _zod?: { def?: { type?: string; shape?: unknown; element?: unknown } } })._zod?.def;
  if (def?.type === 'object' && def.shape && typeof def.shape === 'object') {
    for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
      if (unrepresentable(field) !== undefined) return unrepresentablePath(field, `${path}.${key}`);
    }
  }
  if (def?.type === 'array' && def.element instanceof z.ZodType && unrepresentable(def.element) !== undefined) {
    return unrepresentablePath(def.element, `${path}[]`);
  }
  return path;
}
