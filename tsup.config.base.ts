import type { Options } from 'tsup';

/**
 * The one build recipe every package shares: ESM + CJS, a declaration file per
 * format (`.d.ts` for import, `.d.cts` for require), source maps, Node 22+.
 * A package's own `tsup.config.ts` only names its entry points.
 */
export function packageBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    splitting: false,
    treeshake: true,
    outDir: 'dist',
  };
}
