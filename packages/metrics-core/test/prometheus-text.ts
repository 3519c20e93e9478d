import type { Registry } from 'prom-client';
import { expect } from 'vitest';

/** A metric family as a test expects it: name, type and label names (without `le`). */
export type ExpectedFamily = [name: string, type: string, labels: string[]];

/**
 * Checks that `registry` (a prom-client registry) has every family of
 * `families`, with its type, and that every series has exactly its label set.
 */
export async function expectFamilies(
  registry: Pick<Registry, 'getMetricsAsJSON'>,
  families: readonly ExpectedFamily[],
): Promise<void> {
  const json = await registry.getMetricsAsJSON();
  for (const [name, type, labels] of families) {
    const family = json.find((m) => m.name === name);
    expect(family, name).toBeDefined();
    expect(String(family?.type), name).toBe(type);
    for (const value of family?.values ?? []) {
      expect(
        Object.keys(value.labels)
          .filter((l) => l !== 'le')
          .sort(),
        name,
      ).toEqual([...labels].sort());
    }
  }
}

/** One sample line of a Prometheus text exposition. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4) and OpenMetrics
 * sample lines, for tests: unescapes label values (`\\`, `\"`, `\n`) and
 * throws on any line it cannot read, so that a bad escape fails the test.
 */
export function parseExposition(text: string): { samples: ParsedSample[]; types: Map<string, string> } {
  const samples: ParsedSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name as string, type as string);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const label = /^[a-zA-Z_][a-zA-Z0-9_]*="/.exec(line.slice(i))?.[0];
        if (!label) throw new Error(`bad label at ${i}: ${JSON.stringify(line)}`);
        i += label.length;
        let value = '';
        for (;;) {
          const c = line[i++];
          if (c === undefined) throw new Error(`unterminated label value: ${JSON.stringify(line)}`);
          if (c === '"') break;
          if (c === '\\') {
            const next = line[i++];
            if (next === 'n') value += '\n';
            else if (next === '\\' || next === '"') value += next;
            else throw new Error(`bad escape \\${next}: ${JSON.stringify(line)}`);
          } else value += c;
        }
        labels[label.slice(0, -2)] = value;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`expected , or } at ${i}: ${JSON.stringify(line)}`);
      }
      i++;
    }
    const rest = line.slice(i);
    if (!/^ (?:[-+]?[0-9.e+-]+|NaN|[+-]Inf)$/.test(rest)) throw new Error(`bad value: ${JSON.stringify(line)}`);
    samples.push({ name, labels, value: Number(rest.slice(1)) });
  }
  return { samples, types };
}
