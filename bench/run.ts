/**
 * One entry point for every benchmark: `npm run bench -- <name>` or `npm run bench -- all`.
 * Each `bench/<name>.ts` exports a default function that runs its benchmark.
 */
import { readdirSync } from 'node:fs';

const here = new URL('./', import.meta.url);
const available = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -3))
  .sort();

const requested = process.argv.slice(2);
if (requested.length === 0) {
  console.error(`usage: npm run bench -- <${[...available, 'all'].join('|')}>`);
  process.exit(64);
}
const names = requested.includes('all') ? available : requested;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark '${name}' (available: ${available.join(', ')}, all)`);
    process.exit(64);
  }
}
for (const name of names) {
  const module = (await import(new URL(`./${name}.ts`, here).href)) as { default: () => Promise<unknown> };
  await module.default();
}
