// Checks what `npm pack` would publish for every package: only dist/, README,
// LICENSE and package.json (plus a scaffolder's template/, declared in its
// `files`), and each of those present.
import { execFileSync } from 'node:child_process';
import { publishablePackages } from './workspace-packages.mjs';

const EXTRA_FOLDERS = ['template/'];
const allowed = (path, manifest) =>
  path.startsWith('dist/') ||
  ['README.md', 'LICENSE', 'package.json'].includes(path) ||
  EXTRA_FOLDERS.some((folder) => path.startsWith(folder) && (manifest.files ?? []).includes(folder.slice(0, -1)));
const required = [
  'README.md',
  'LICENSE',
  'package.json',
  'dist/index.js',
  'dist/index.cjs',
  'dist/index.d.ts',
  'dist/index.d.cts',
];

/** Every file a package's `exports` map points at (e.g. dist/testing.cjs of a second entry). */
function exportTargets(exports) {
  if (typeof exports === 'string') return exports.startsWith('./dist/') ? [exports.slice(2)] : [];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

let failed = 0;
for (const { name, dir, manifest } of publishablePackages()) {
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: dir, encoding: 'utf8' }));
  const files = report.files.map((file) => file.path).sort();
  const extra = files.filter((path) => !allowed(path, manifest));
  const missing = [...new Set([...required, ...exportTargets(manifest.exports)])].filter(
    (path) => !files.includes(path),
  );
  const kib = (report.unpackedSize / 1024).toFixed(1);
  console.log(`${name}@${report.version}: ${files.length} files, ${kib} KiB unpacked`);
  for (const path of files) console.log(`  ${path}`);
  if (extra.length || missing.length) {
    failed += 1;
    if (extra.length) console.error(`  ✗ must not be published: ${extra.join(', ')}`);
    if (missing.length) console.error(`  ✗ missing: ${missing.join(', ')} (run npm run build first)`);
  }
}
if (failed) process.exit(1);
console.log('pack contents OK');
