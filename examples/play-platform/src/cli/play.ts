/**
 * Plays one title as a demo user and prints the answer and the path the
 * request took through the platform.
 *
 *   npm run play -- --profile p-ada --title 80100172 --device tv [--url http://127.0.0.1:8080]
 */
import { parseArgs } from 'node:util';
import { tokenFor } from '../edge/demo-users.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.PLAY_URL ?? 'http://127.0.0.1:8080' },
    profile: { type: 'string', default: 'p-ada' },
    title: { type: 'string', default: '80100172' },
    device: { type: 'string', default: 'tv' },
  },
});

const started = performance.now();
const response = await fetch(`${values.url}/play`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(values.profile)}` },
  body: JSON.stringify({ profileId: values.profile, titleId: values.title, device: values.device }),
}).catch((error: unknown) => {
  console.error(
    `cannot reach the platform at ${values.url} (${String((error as Error).cause ?? error)}); is it running? npm start`,
  );
  process.exit(1);
});
const ms = (performance.now() - started).toFixed(1);
const body = (await response.json()) as {
  name?: string;
  resumePositionMs?: number;
  manifest?: { profile: string };
  streamUrls?: string[];
  license?: { licenseId: string };
  version?: string;
  trace?: { service: string; ms: number; outcome: string }[];
  error?: string;
  message?: string;
};

console.log(
  `POST ${values.url}/play → ${response.status} in ${ms} ms (request id ${response.headers.get('x-request-id') ?? '–'})`,
);
if (!response.ok) {
  console.log(`  ${body.error}: ${body.message}`);
  process.exit(1);
}
console.log(
  `  ${body.name}: profile ${body.manifest?.profile}, resume at ${Math.round((body.resumePositionMs ?? 0) / 1000)} s`,
);
console.log(`  licence ${body.license?.licenseId}, served by Play API ${body.version}`);
for (const url of body.streamUrls ?? []) console.log(`  stream ${url}`);
console.log('\n  path of the request:');
for (const step of body.trace ?? []) {
  const mark = step.outcome === 'ok' ? ' ' : '!';
  console.log(`  ${mark} ${step.service.padEnd(18)} ${String(step.ms).padStart(7)} ms  ${step.outcome}`);
}
