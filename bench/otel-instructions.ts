/**
 * `node bench/otel-instructions.ts [resilience|events] [calls]`: what an
 * installed OpenTelemetry SDK with sampling off costs per call, as CPU
 * instructions counted by valgrind's callgrind. Unlike times, instruction
 * counts hardly move with the machine's load, so this runs while the machine
 * is busy (the timed benches, `npm run bench -- resilience|events-emit`, are
 * for a quiet one).
 *
 * Each subject runs in its own `node` under callgrind twice, making `calls`
 * and then 5 × `calls` calls; instructions per call = the difference / (4 ×
 * `calls`), so start-up and warm-up cancel out. The SDK is registered as
 * services do (bench/lib/otel.ts: AsyncLocalStorage context manager, W3C
 * propagator, `AlwaysOffSampler`).
 *
 * - resilience: `bare` (an async function), `backlot` (defineCommand with
 *   timeout, breaker, bulkhead, fallback), `opossum` (fire() with a timeout and
 *   fallback), each with `-otel-off` (the same under the SDK: a root call, so
 *   Backlot's command span is started and the sampler says no), and
 *   `backlot-otel-unsampled-parent` (each call inside a request span the
 *   sampler dropped, the usual case in a traced service: no span at all).
 * - events: `emit` (createEventProducer on a transport that acknowledges at
 *   once, as bench/events-emit.ts), `emit-otel-off` (the SDK: a non-recording
 *   span per emit, its unsampled `traceparent` in the record),
 *   `emit-otel-unsampled-parent` (inside a request span the sampler dropped:
 *   no span, the parent's context in the record) and `emit-otel` (every emit
 *   recorded, for scale).
 *
 * Needs valgrind (`apt-get install -y valgrind`). Runs the packages' sources
 * (scripts/ts-hooks.mjs), no build needed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const hooks = fileURLToPath(new URL('../scripts/ts-hooks.mjs', import.meta.url));

const SUITES: Record<string, string[]> = {
  resilience: ['bare', 'backlot', 'backlot-otel-off', 'backlot-otel-unsampled-parent', 'opossum', 'opossum-otel-off'],
  events: ['emit', 'emit-otel-off', 'emit-otel-unsampled-parent', 'emit-otel'],
};

// ───────────────────────────── one subject, `calls` calls ─────────────────────────────

async function runRole(subject: string, calls: number): Promise<void> {
  const { installOpenTelemetry } = await import('./lib/otel.ts');
  const otel = subject.includes('-otel');
  if (otel) installOpenTelemetry(subject === 'emit-otel');
  if (subject.startsWith('emit')) return emitCalls(subject, calls);
  const bare = async (n: number) => n;
  let call: (n: number) => Promise<number> = bare;
  if (subject.startsWith('backlot')) {
    const { CommandRegistry, defineCommand } = await import('@backlot/resilience');
    call = defineCommand({
      key: 'instructions',
      registry: new CommandRegistry(),
      timeoutMs: 1000,
      bulkhead: { maxConcurrent: 1000 },
      run: (_execution, n: number) => bare(n),
      fallback: () => -1,
    });
  } else if (subject.startsWith('opossum')) {
    const { default: OpossumBreaker } = await import('opossum');
    const breaker = new OpossumBreaker(bare, { timeout: 1000 });
    breaker.fallback(() => -1);
    call = (n) => breaker.fire(n) as Promise<number>;
  }
  const loop = async () => {
    for (let i = 0; i < calls; i++) await call(i);
  };
  if (!subject.endsWith('-unsampled-parent')) return loop();
  const { context, trace } = await import('@opentelemetry/api');
  const dropped = trace.wrapSpanContext({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 0,
  });
  return context.with(trace.setSpan(context.active(), dropped), loop);
}

async function emitCalls(subject: string, calls: number): Promise<void> {
  const { createEventProducer, defineEventCatalog } = await import('@backlot/events');
  const { trace } = await import('@opentelemetry/api');
  const { z } = await import('zod');
  const catalog = defineEventCatalog({
    'play.started': {
      version: 1,
      payload: z.object({ profileId: z.string().min(1), titleId: z.string().min(1), country: z.string().length(2) }),
    },
  });
  const producer = createEventProducer({
    catalog,
    source: 'bench',
    transport: {
      name: 'instant',
      producer: () => ({ async connect() {}, async send() {}, async close() {} }),
      consumer: () => {
        throw new Error('not used');
      },
    },
    topic: 'events',
    key: (event) => event.payload.profileId,
    spool: false,
    bufferBytes: 64 * 1024 * 1024,
  });
  const emitAll = async () => {
    for (let i = 0; i < calls; i++) {
      const payload = { profileId: `profile-${i % 5000}`, titleId: `title-${i % 977}`, country: i % 2 ? 'FR' : 'BR' };
      if (!producer.emit('play.started', payload)) await producer.ready();
    }
    await producer.flush();
  };
  if (subject === 'emit-otel-unsampled-parent') {
    await trace.getTracer('bench').startActiveSpan('request', async (span) => {
      await emitAll();
      span.end();
    });
  } else await emitAll();
  await producer.close();
  if (producer.metrics().sent !== calls) throw new Error(`sent ${producer.metrics().sent}/${calls}`);
}

// ───────────────────────────── driver ─────────────────────────────

/** Instructions callgrind counted for one run of `subject` making `calls` calls. */
function instructions(subject: string, calls: number): number {
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--import', hooks, self],
    { env: { ...process.env, OTEL_INSTRUCTIONS_ROLE: `${subject}:${calls}` }, encoding: 'utf8' },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr ?? '');
  if (run.status !== 0 || !collected) throw new Error(`${subject} × ${calls}: ${run.stderr?.slice(-2000)}`);
  return Number(collected[1]);
}

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/valgrind')) throw new Error("needs valgrind: 'apt-get install -y valgrind'");
  const suite = process.argv[2] ?? 'resilience';
  // OTEL_INSTRUCTIONS_SUBJECTS=a,b measures only those of the suite.
  const only = process.env.OTEL_INSTRUCTIONS_SUBJECTS?.split(',');
  const subjects = SUITES[suite]?.filter((subject) => !only || only.includes(subject));
  if (!subjects) throw new Error(`unknown suite '${suite}': ${Object.keys(SUITES).join(', ')}`);
  const calls = Number(process.argv[3] ?? (suite === 'events' ? 4000 : 5000));
  const load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.log(`# ${suite}: instructions per call under callgrind (${calls} and ${calls * 5} calls; ${load})`);
  const perCall: Record<string, number> = {};
  for (const subject of subjects) {
    const few = instructions(subject, calls);
    const many = instructions(subject, calls * 5);
    perCall[subject] = Math.round((many - few) / (calls * 4));
    console.log(`${subject.padEnd(28)} ${String(perCall[subject]).padStart(8)} instructions/call`);
  }
  const ratio = (a: string, b: string) =>
    perCall[a] && perCall[b] ? `${a} / ${b} = ${((perCall[a] as number) / (perCall[b] as number)).toFixed(2)}` : '';
  const pairs =
    suite === 'events'
      ? [
          ['emit-otel-off', 'emit'],
          ['emit-otel-unsampled-parent', 'emit'],
          ['emit-otel', 'emit'],
        ]
      : [
          ['backlot', 'opossum'],
          ['backlot-otel-off', 'opossum-otel-off'],
          ['backlot-otel-off', 'backlot'],
          ['backlot-otel-unsampled-parent', 'backlot'],
          ['opossum-otel-off', 'opossum'],
        ];
  for (const [a, b] of pairs) console.log(ratio(a as string, b as string));
}

const role = process.env.OTEL_INSTRUCTIONS_ROLE;
if (role) {
  const [subject, calls] = role.split(':') as [string, string];
  await runRole(subject, Number(calls));
  process.exit(0);
} else {
  await main();
}
