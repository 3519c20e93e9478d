// Copies the files the template shares with the example, so that they live in
// one place (the example) and the template never drifts (a test compares them).
import { copyFileSync } from 'node:fs';

const shared = ['src/lib/http-service.ts'];
for (const file of shared) {
  copyFileSync(
    new URL(`../../../examples/play-platform/${file}`, import.meta.url),
    new URL(`../template/${file}`, import.meta.url),
  );
  console.log(`template/${file} ← examples/play-platform/${file}`);
}
