/**
 * Load generator: plays titles through the platform and prints a summary.
 *
 *   npm run load -- --duration 20 --connections 32 [--url http://127.0.0.1:8080]
 */
import { parseArgs } from 'node:util';
import { runLoad } from './load-generator.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.PLAY_URL ?? 'http://127.0.0.1:8080' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
if (!(durationS > 0) || !(connections > 0)) {
  console.error('--duration and --connections must be positive numbers');
  process.exit(64);
}

const tty = process.stdout.isTTY;
console.log(`playing through ${values.url} for ${durationS} s with ${connections} connections`);
const summary = await runLoad({
  url: values.url,
  durationS,
  connections,
  onProgress: ({ elapsedS, requests, errors }) => {
    if (!tty) return;
    const width = 30;
    const done = Math.min(width, Math.round((elapsedS / durationS) * width));
    process.stdout.write(
      `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${elapsedS.toFixed(1)} s  ${requests} requests  ${errors} errors  `,
    );
  },
});
if (tty) process.stdout.write('\n');
console.log(`
requests   ${summary.requests} in ${summary.durationS.toFixed(1)} s
rate       ${summary.rps.toFixed(0)} req/s
latency    p50 ${summary.p50Ms.toFixed(2)} ms   p99 ${summary.p99Ms.toFixed(2)} ms
errors     ${(summary.errorRate * 100).toFixed(2)} %${Object.entries(summary.errors)
  .map(([kind, n]) => `\n  ${kind.padEnd(24)} ${n}`)
  .join('')}
fallbacks${Object.keys(summary.fallbacks).length === 0 ? '  none' : ''}${Object.entries(summary.fallbacks)
  .map(([kind, n]) => `\n  ${kind.padEnd(30)} ${n}`)
  .join('')}`);
