// Type-checks the TypeScript examples in the packages' READMEs against the
// packages' sources, so the documentation cannot drift from the API.
// Every ```ts block of packages/*/README.md becomes a module of its own in
// .readme-examples/ (ignored by git) and is compiled with the workspace's
// strict settings. A README that tells one story across its blocks (later
// blocks use what earlier ones declared) says so with the HTML comment
// `<!-- readme-examples: one-module -->`: its blocks are then compiled as one
// module, imports hoisted and merged. Use ```js or ```text for snippets that
// are not meant to compile.
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
  if (text.includes('<!-- readme-examples: one-module -->')) {
    const imports = new Map(); // module → set of named imports / default
    const bodies = [];
    for (const match of matches) {
      const body = match[1].replace(/^import\s+([\s\S]*?)\s+from\s+'([^']+)';\n?/gm, (_, clause, from) => {
        const entry = imports.get(from) ?? { names: new Set(), defaults: new Set() };
        const named = /\{([\s\S]*)\}/.exec(clause);
        if (named)
          for (const n of named[1]
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean))
            entry.names.add(n);
        const head = clause
          .replace(/\{[\s\S]*\}/, '')
          .replace(/,\s*$/, '')
          .trim();
        if (head) entry.defaults.add(head);
        imports.set(from, entry);
        return '';
      });
      bodies.push(body);
      blocks++;
    }
    const head = [...imports].flatMap(([from, { names, defaults }]) => [
      ...[...defaults].map((d) => `import ${d} from '${from}';`),
      ...(names.size ? [`import { ${[...names].join(', ')} } from '${from}';`] : []),
    ]);
    writeFileSync(join(out, `${name}-all.ts`), `${head.join('\n')}\n${bodies.join('\n')}\nexport {};\n`);
    continue;
  }
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
