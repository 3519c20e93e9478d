import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

export default defineConfig([
  // The library: ESM + CJS like every package (`import.meta.url` shimmed for CJS).
  { ...packageBuild({ index: 'src/index.ts' }), shims: true },
  // The `create-backlot` command: ESM only (top-level await).
  { ...packageBuild({ cli: 'src/cli.ts' }), format: ['esm'], clean: false },
]);
