/**
 * Plays one title as a demo user and prints the answer and the path the
 * request took through the platform; with `--watch`, keeps watching: sends a
 * heartbeat with the position every `--heartbeat` and stops the session at
 * the end (or on Ctrl-C), so continue-watching shows how far you got.
 *
 *   npm run play -- --profile p-ada --title 80100172 --device tv [--watch 30s] [--url http://127.0.0.1:8080]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { tokenFor, UnknownProfileError } from '../edge/demo-users.ts';
import { duration } from './duration.ts';

const USAGE = `Usage: npm run play -- [--profile p-ada] [--title 80100172] [--device tv|web|mobile|tablet]
                     [--watch 30s] [--heartbeat 10s] [--url http://127.0.0.1:8080]`;

const optionsSchema = z.object({
  url: z.url({ error: '--url must be a URL such as http://127.0.0.1:8080' }),
  profile: z.string().min(1),
  title: z.string().min(1),
  device: z.enum(['tv', 'web', 'mobile', 'tablet'], { error: '--device must be one of tv, web, mobile, tablet' }),
  watchMs: duration('--watch').optional(),
  heartbeatMs: duration('--heartbeat').refine((ms) => ms >= 100, '--heartbeat must be at least 100ms'),
});

function usageError(message: string): never {
  console.error(`npm run play: ${message}\n${USAGE}`);
  process.exit(64);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    strict: true,
    options: {
      url: { type: 'string', default: process.env.PLAY_URL ?? 'http://127.0.0.1:8080' },
      profile: { type: 'string', default: 'p-ada' },
      title: { type: 'string', default: '80100172' },
      device: { type: 'string', default: 'tv' },
      watch: { type: 'string' },
      heartbeat: { type: 'string', default: '10s' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  usageError((error as Error).message.split('. ')[0] ?? String(error));
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const parsed = optionsSchema.safeParse({ ...values, watchMs: values.watch, heartbeatMs: values.heartbeat });
if (!parsed.success) usageError(parsed.error.issues.map((issue) => issue.message).join('; '));
const options = parsed.data;

let token: string;
try {
  token = await tokenFor(options.profile);
} catch (error) {
  if (error instanceof UnknownProfileError) usageError(error.message);
  throw error;
}
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

async function post(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(`${options.url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    console.error(
      `cannot reach the platform at ${options.url} (${String((error as Error).cause ?? error)}); is it running? npm start`,
    );
    process.exit(1);
  }
}

const started = performance.now();
const response = await post('/play', { profileId: options.profile, titleId: options.title, device: options.device });
const ms = (performance.now() - started).toFixed(1);
const body = (await response.json()) as {
  name?: string;
  resumePositionMs?: number;
  manifest?: { profile: string };
  streamUrls?: string[];
  license?: { licenseId: string; sessionId: string };
  version?: string;
  trace?: { service: string; ms: number; outcome: string }[];
  error?: string;
  message?: string;
};

console.log(
  `POST ${options.url}/play → ${response.status} in ${ms} ms (request id ${response.headers.get('x-request-id') ?? '–'})`,
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

if (options.watchMs !== undefined) {
  const session = {
    profileId: options.profile,
    titleId: options.title,
    sessionId: body.license?.sessionId ?? '',
  };
  const resumeMs = body.resumePositionMs ?? 0;
  const watchStarted = performance.now();
  const position = () => Math.round(resumeMs + Math.min(performance.now() - watchStarted, options.watchMs ?? 0));
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  console.log(
    `\nwatching for ${(options.watchMs / 1000).toFixed(0)} s (heartbeat every ${options.heartbeatMs / 1000} s; Ctrl-C stops)`,
  );
  while (!interrupted.signal.aborted && performance.now() - watchStarted < options.watchMs) {
    const left = options.watchMs - (performance.now() - watchStarted);
    await sleep(Math.min(options.heartbeatMs, left), undefined, { signal: interrupted.signal }).catch(() => {});
    if (interrupted.signal.aborted || performance.now() - watchStarted >= options.watchMs) break;
    const beat = await post('/play/heartbeat', { ...session, positionMs: position() });
    console.log(`  heartbeat at ${(position() / 1000).toFixed(0)} s → ${beat.status}`);
  }
  const stopped = await post('/play/stop', { ...session, positionMs: position() });
  console.log(`  stopped at ${(position() / 1000).toFixed(0)} s → ${stopped.status}`);
  if (!stopped.ok) process.exit(1);
}
