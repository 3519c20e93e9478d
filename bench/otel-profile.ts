/**
 * `node bench/otel-profile.ts [seconds] [role …]`: where an installed
 * OpenTelemetry SDK's time goes in the gateway, from V8 CPU profiles rather
 * than throughput, so that it can be read on a busy machine: each role of
 * bench/gateway.ts (default `backlot`, `backlot-observed`, `undici-passthrough`,
 * `undici-otel-off`) runs in front of the bench's origin with `--cpu-prof`,
 * wrk drives it (`-t1 -c20`, after a 1 s warm-up), and the profile's
 * self-time is split by where the code lives: `@opentelemetry/*` (the SDK and
 * API), Backlot's tracing modules (`/tracing/` of the packages), the rest of
 * Backlot, other dependencies, Node's own, native code and GC. Shares are of
 * the process's busy time (idle excluded); µs/request divide it by wrk's
 * request count. The roles run the packages' sources (scripts/ts-hooks.mjs).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const gatewayBench = fileURLToPath(new URL('./gateway.ts', import.meta.url));
const hooks = fileURLToPath(new URL('../scripts/ts-hooks.mjs', import.meta.url));

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string | undefined {
  if (fn === '(idle)') return undefined;
  if (url.includes('@opentelemetry')) return 'otel';
  if (url.includes('/packages/') && url.includes('/tracing/')) return 'backlot tracing';
  if (url.includes('/packages/')) return 'backlot';
  if (url.includes('node_modules')) return 'dependencies';
  if (url.startsWith('node:')) return 'node';
  if (fn === '(garbage collector)') return 'gc';
  return 'native';
}

/**
 * Busy self-time by category, µs, over the profile's last `windowMs` (the
 * measured wrk run: the profile ends when the role exits, right after it;
 * start-up and warm-up are before).
 */
function selfTimes(profile: CpuProfile, windowMs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const times = new Map<string, number>();
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  let at = 0;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < total - windowMs * 1000) continue;
    const frame = byId.get(id);
    const name = frame && category(frame.url, frame.functionName);
    if (name) times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return times;
}

function start(role: string, env: Record<string, string>, args: string[] = []): Promise<[ChildProcess, number]> {
  const child = spawn(process.execPath, [...args, '--import', hooks, gatewayBench], {
    env: { ...process.env, BACKLOT_BENCH_ROLE: role, ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => {
      child.removeAllListeners('exit');
      resolve([child, (JSON.parse(chunk.toString().split('\n')[0] as string) as { port: number }).port]);
    });
  });
}

const stopped = (child: ChildProcess, signal: NodeJS.Signals) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });

async function profileRole(role: string, origin: string, seconds: number): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-otel-profile-'));
  try {
    const [child, port] = await start(role, { BACKLOT_BENCH_TARGET: origin }, [
      '--cpu-prof',
      '--cpu-prof-interval',
      '200',
      `--cpu-prof-dir=${dir}`,
      '--import',
      'data:text/javascript,process.on("SIGTERM",()=>process.exit(0))',
    ]);
    const url = `http://127.0.0.1:${port}/titles/80100172`;
    execFileSync('/usr/bin/wrk', ['-t1', '-c20', '-d1s', url]);
    const out = execFileSync('/usr/bin/wrk', ['-t1', '-c20', `-d${seconds}s`, url], { encoding: 'utf8' });
    await stopped(child, 'SIGTERM'); // exit() writes the profile
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const [file] = readdirSync(dir);
    const profile = JSON.parse(readFileSync(join(dir, file as string), 'utf8')) as CpuProfile;
    const times = selfTimes(profile, seconds * 1000);
    times.set('requests', requests);
    return times;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = Number(process.argv[2] ?? 6);
const roles = process.argv.length > 3 ? process.argv.slice(3) : undefined;
const [origin, originPort] = await start('origin', {});
try {
  console.log(
    `# gateway CPU profiles, ${seconds} s of wrk -t1 -c20 each (${execFileSync('uptime').toString().trim()})`,
  );
  const columns = ['otel', 'backlot tracing', 'backlot', 'dependencies', 'node', 'native', 'gc'];
  console.log(['role'.padEnd(20), 'busy µs/req', ...columns.map((c) => `${c} %`)].join('  '));
  for (const role of roles ?? ['backlot', 'backlot-observed', 'undici-passthrough', 'undici-otel-off']) {
    const times = await profileRole(role, `http://127.0.0.1:${originPort}`, seconds);
    const requests = times.get('requests') as number;
    times.delete('requests');
    const busy = [...times.values()].reduce((a, b) => a + b, 0);
    const share = (c: string) => ((100 * (times.get(c) ?? 0)) / busy).toFixed(1);
    console.log([role.padEnd(20), (busy / requests).toFixed(1).padStart(11), ...columns.map(share)].join('  '));
  }
} finally {
  await stopped(origin, 'SIGTERM');
}
