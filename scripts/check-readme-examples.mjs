// Type-checks the TypeScript examples in the packages' READMEs against the
// packages' sources, so the documentation cannot drift from the API.
// Every ```ts block of packages/*/README.md becomes a module of its own in
// .readme-examples/ (ignored by git) and is compiled with the workspace's
// strict settings. Use ```js or ```text for snippets that are not meant to compile.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.readme-examples');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const only = process.argv.slice(2);
let blocks = 0;
for (const name of readdirSync(join(root, 'packages'))) {
  if (only.length && !only.includes(name)) continue;
  let text;
  try {
    text = readFileSync(join(root, 'packages', name, 'README.md'), 'utf8');
  } catch {
    continue;
  }
  const matches = [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)];
  matches.forEach((match, index) => {
    const line = text.slice(0, match.index).split('\n').length;
    // `export {}` makes every block a module (top-level await, no global clashes).
    writeFileSync(join(out, `${name}-${index + 1}-line${line}.ts`), `${match[1]}\nexport {};\n`);
    blocks++;
  });
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: { rootDir: '..', noUnusedLocals: false },
    include: ['./*.ts'],
  }),
);
console.log(`type-checking ${blocks} README example(s)`);
const result = spawnSync('tsc', ['--noEmit', '-p', join(out, 'tsconfig.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
