// Copies the files the template shares with the example, so that they live in
// one place (the example) and the template never drifts (a test compares them).
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

const shared = ['src/http'];
for (const folder of shared) {
  const from = new URL(`../../../examples/play-platform/${folder}/`, import.meta.url);
  const to = new URL(`../template/${folder}/`, import.meta.url);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((name) => name.endsWith('.ts'))) {
    copyFileSync(new URL(file, from), new URL(file, to));
    console.log(`template/${folder}/${file} ← examples/play-platform/${folder}/${file}`);
  }
}
