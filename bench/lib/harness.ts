/**
 * Benchmark harness shared by every `bench/<name>.ts` (see the README's
 * Benchmarks section): warm up, then measure every subject several times in
 * alternation (A B C, B C A, …), keep the median of each figure, print a
 * table with ratios to the first (reference) subject, and write
 * `bench/results/<name>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Figures measured in one round for one subject, e.g. `{ overhead_ns: 612 }`. */
export type Figures = Record<string, number>;

/** One measured subject: runs one round and returns its figures. */
export type Subject = () => Promise<Figures>;

/** A benchmark definition. */
export interface BenchDefinition {
  /** Result name: `bench/results/<name>.json`. */
  name: string;
  /** Unit of every figure, e.g. `{ overhead_ns: 'ns per call (lower is better)' }`. */
  unit: Record<string, string>;
  /** Subjects by stable name (`backlot` is always this project's). */
  subjects: Record<string, Subject>;
  /** Rounds per subject after warm-up (default 5). */
  rounds?: number;
  /** Warm-up rounds per subject, not recorded (default 1). */
  warmup?: number;
  /** Subject the ratios are computed against (default: `backlot`). */
  reference?: string;
}

/** What a run writes to `bench/results/<name>.json`. */
export interface BenchResult {
  name: string;
  node: string;
  cpus: number;
  date: string;
  unit: Record<string, string>;
  subjects: Record<string, Figures>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round = (value: number) => (Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3)));

export async function runBench(definition: BenchDefinition): Promise<BenchResult> {
  const { name, unit, subjects } = definition;
  const rounds = Number(process.env.BENCH_ROUNDS ?? definition.rounds ?? 5);
  const warmup = Number(process.env.BENCH_WARMUP ?? definition.warmup ?? 1);
  // `BENCH_SUBJECTS=backlot,kafkajs` measures only those (e.g. while investigating one pair).
  const only = process.env.BENCH_SUBJECTS?.split(',').map((s) => s.trim());
  const names = Object.keys(subjects).filter((n) => !only || only.includes(n));
  const samples = new Map<string, Map<string, number[]>>(names.map((n) => [n, new Map()]));

  console.log(`\n# ${name}: ${names.join(' vs ')} (${warmup} warm-up, ${rounds} rounds, alternating)`);
  for (let r = 0; r < warmup + rounds; r++) {
    // Rotate the order every round so no subject always runs first (or last).
    const order = names.map((_, i) => names[(i + r) % names.length] as string);
    for (const subject of order) {
      const figures = await (subjects[subject] as Subject)();
      if (r < warmup) continue;
      const bySubject = samples.get(subject) as Map<string, number[]>;
      for (const [figure, value] of Object.entries(figures)) {
        bySubject.set(figure, [...(bySubject.get(figure) ?? []), value]);
      }
    }
    process.stdout.write(r < warmup ? 'w' : '.');
  }
  process.stdout.write('\n');

  const result: BenchResult = {
    name,
    node: process.version,
    cpus: cpus().length,
    date: new Date().toISOString(),
    unit,
    subjects: Object.fromEntries(
      names.map((subject) => [
        subject,
        Object.fromEntries(
          [...(samples.get(subject) as Map<string, number[]>)].map(([figure, values]) => [
            figure,
            round(median(values)),
          ]),
        ),
      ]),
    ),
  };
  printTable(result, definition.reference ?? 'backlot');
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${name}.json`);
  return result;
}

function printTable(result: BenchResult, reference: string): void {
  const figures = Object.keys(result.unit);
  const rows: string[][] = [['subject', ...figures.flatMap((f) => [f, `×${reference}`])]];
  const ref = result.subjects[reference];
  for (const [subject, values] of Object.entries(result.subjects)) {
    rows.push([
      subject,
      ...figures.flatMap((figure) => {
        const value = values[figure];
        const base = ref?.[figure];
        const ratio = value !== undefined && base ? (value / base).toFixed(2) : '';
        return [value === undefined ? '–' : String(value), ratio];
      }),
    ]);
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const figure of figures) console.log(`  ${figure}: ${result.unit[figure]}`);
}
