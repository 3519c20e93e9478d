import { rm, writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

/**
 * vitest refuses to be loaded by require(), so a CommonJS bundle of the testing
 * entry could never load: its `require` entry loads the ES module build with
 * require(esm) instead (Node 22.12 and later).
 */
const testingCjs = `'use strict';
// vitest can only be loaded as an ES module: load the ES module build (require(esm), Node 22.12+).
module.exports = require('./testing.js');
`;

export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', testing: 'src/testing/index.ts' }),
  async onSuccess() {
    await writeFile('dist/testing.cjs', testingCjs);
    await rm('dist/testing.cjs.map', { force: true });
  },
});
