import { z } from 'zod';
import type { EventJsonSchema } from './types.js';
import type { VersionChain } from './versions.js';

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // Wire-safety was checked when the catalogue was defined; `cycles: 'ref'` keeps recursive schemas finite.
  return z.toJSONSchema(schema, { io, cycles: 'ref', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** The JSON Schemas (wire and read side) of every version of every chain, by name then version. @internal */
export function chainJsonSchemas(chains: readonly VersionChain[]): EventJsonSchema[] {
  const out: EventJsonSchema[] = [];
  for (const chain of [...chains].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const step of chain.versions) {
      out.push({
        name: chain.name,
        version: step.version,
        schema: toJsonSchema(step.payload, 'output'),
        readSchema: toJsonSchema(step.payload, 'input'),
      });
    }
  }
  return out;
}
