import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

export default defineConfig(packageBuild({ index: 'src/index.ts', tracing: 'src/tracing/index.ts' }));
