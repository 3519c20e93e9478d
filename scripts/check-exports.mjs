// Checks every publishable package as it would be published: publint --strict
// (package.json and exports map) and @arethetypeswrong/cli (types resolve the
// same way for import and require, under node10, node16 and bundlers).
// Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { publishablePackages } from './workspace-packages.mjs';

let failed = 0;
for (const { name, dir } of publishablePackages()) {
  for (const [tool, args] of [
    ['publint', ['run', '--strict', '--pack', 'npm', dir]],
    ['attw', ['--pack', dir, '--format', 'table-flipped']],
  ]) {
    console.log(`\n── ${name}: ${tool}`);
    const result = spawnSync(tool, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      failed += 1;
      console.error(`✗ ${name}: ${tool} failed`);
    }
  }
}
if (failed) {
  console.error(`\n${failed} export check(s) failed`);
  process.exit(1);
}
console.log('\nall packages pass publint --strict and attw');
