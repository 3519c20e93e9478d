/**
 * `npm run bench -- rate-limit`: what a rate limit costs an edge proxy, with
 * its buckets in the process or shared in Redis, Backlot vs fastify's
 * rate-limit plugin, side by side in one run (see bench/lib/harness.ts).
 *
 * Subjects, each in its own process, all proxying to the same local origin
 * (node:http, ~1 KiB JSON) with a limit far above the load (every request is
 * allowed: the figures are the limiter's cost, not its refusals):
 * `backlot` (the `rateLimit` filter on a `RedisRateLimitStore`: one EVALSHA
 * per request), `backlot-memory` (the same filter, in-process buckets),
 * `backlot-unlimited` (no rate limit: the floor), and
 * `fastify-rate-limit-redis` / `fastify-rate-limit-memory`
 * (@fastify/http-proxy + @fastify/rate-limit with its ioredis store, or its
 * in-memory one, as its README recommends for a fleet).
 *
 * Redis is a private `redis-server` (Debian's, in memory only) on a free port,
 * started and stopped by the bench. Load: an in-process closed loop of 32
 * keep-alive connections (undici Pool) for BENCH_RATE_LIMIT_SECONDS (default 5).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { type Figures, runBench } from './lib/harness.ts';

const SECONDS = Number(process.env.BENCH_RATE_LIMIT_SECONDS ?? 5);
const CONNECTIONS = 32;
const UNLIMITED = { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 };
const self = fileURLToPath(import.meta.url);

// ───────────────────────────── child roles ─────────────────────────────

async function role(name: string, target: string, redisUrl: string): Promise<number> {
  if (name === 'origin') {
    const body = Buffer.from(JSON.stringify({ id: '80100172', title: 'Stranger Things', pad: 'x'.repeat(960) }));
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 60_000;
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
  }
  if (name.startsWith('backlot')) {
    const { createGateway, RedisRateLimitStore } = await import('@backlot/gateway');
    const fleet = name === 'backlot' ? new RedisRateLimitStore({ url: redisUrl }) : undefined;
    await fleet?.ready();
    const limit =
      name === 'backlot-unlimited'
        ? []
        : [{ type: 'rateLimit' as const, key: 'ip' as const, ...UNLIMITED, ...(fleet ? { store: 'fleet' } : {}) }];
    const gateway = createGateway(
      {
        server: { keepAliveTimeoutMs: 60_000 },
        origins: { play: { servers: [target], connections: 64 } },
        routes: [{ id: 'play', pathPrefix: '/', origin: 'play', filters: limit }],
      },
      fleet ? { rateLimitStores: { fleet } } : {},
    );
    return (await gateway.listen({ port: 0, host: '127.0.0.1' })).port;
  }
  if (name.startsWith('fastify-rate-limit')) {
    const { default: Fastify } = await import('fastify');
    const { default: proxy } = await import('@fastify/http-proxy');
    const { default: rateLimit } = await import('@fastify/rate-limit');
    const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
    if (name === 'fastify-rate-limit-redis') {
      const { Redis } = await import('ioredis');
      // The plugin README's recommended client settings for rate limiting.
      const redis = new Redis(redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1 });
      await app.register(rateLimit, { max: UNLIMITED.capacity, timeWindow: 1000, redis, skipOnError: true });
    } else {
      await app.register(rateLimit, { max: UNLIMITED.capacity, timeWindow: 1000 });
    }
    await app.register(proxy, { upstream: target, undici: { connections: 64, pipelining: 1 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  }
  throw new Error(`unknown role ${name}`);
}

if (process.env.BACKLOT_BENCH_ROLE) {
  const { BACKLOT_BENCH_ROLE, BACKLOT_BENCH_TARGET = '', BACKLOT_BENCH_REDIS = '' } = process.env;
  const port = await role(BACKLOT_BENCH_ROLE, BACKLOT_BENCH_TARGET, BACKLOT_BENCH_REDIS);
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
}

// ───────────────────────────── driver ─────────────────────────────

interface Running {
  url: string;
  stop(): Promise<void>;
}

/** Forks this file as a role; resolves once it listens. */
function startRole(name: string, target = '', redisUrl = ''): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, [self], {
    env: { ...process.env, BACKLOT_BENCH_ROLE: name, BACKLOT_BENCH_TARGET: target, BACKLOT_BENCH_REDIS: redisUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.once('message', (message: { port: number }) =>
      resolve({
        url: `http://127.0.0.1:${message.port}`,
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      }),
    );
  });
}

/** A private redis-server on a port the OS picks, in memory only. */
async function startRedis(): Promise<Running> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'backlot-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const { Redis } = await import('ioredis');
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => 50 });
  probe.on('error', () => {});
  for (let i = 0; i < 100 && (await probe.ping().catch(() => '')) !== 'PONG'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  probe.disconnect();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Closed-loop load for `seconds`: requests/s, p50/p99 latency, and answers other than 200 (must be 0). */
async function load(url: string, seconds: number): Promise<Figures> {
  const pool = new Pool(url, { connections: CONNECTIONS });
  const latency = createHistogram();
  let requests = 0;
  let not200 = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t = process.hrtime.bigint();
        const response = await pool.request({ path: '/title/80100172', method: 'GET' });
        await response.body.dump();
        latency.record(Number(process.hrtime.bigint() - t) || 1);
        requests++;
        if (response.statusCode !== 200) not200++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return {
    rps: requests / elapsed,
    p50_ms: latency.percentile(50) / 1e6,
    p99_ms: latency.percentile(99) / 1e6,
    not_200: not200,
  };
}

export default async function run() {
  const redis = await startRedis();
  const origin = await startRole('origin');
  const names = [
    'backlot',
    'backlot-memory',
    'backlot-unlimited',
    'fastify-rate-limit-redis',
    'fastify-rate-limit-memory',
  ];
  const running: Record<string, Running> = {};
  try {
    for (const name of names) running[name] = await startRole(name, origin.url, redis.url);
    return await runBench({
      name: 'rate-limit',
      unit: {
        rps: `requests/s, ${CONNECTIONS} keep-alive connections, closed loop (higher is better)`,
        p50_ms: 'ms, p50 latency (lower is better)',
        p99_ms: 'ms, p99 latency (lower is better)',
        not_200: 'answers other than 200 (must be 0: the limit is far above the load)',
      },
      subjects: Object.fromEntries(
        names.map((name) => [name, () => load((running[name] as Running).url, SECONDS)] as const),
      ),
      reference: 'backlot',
      rounds: Number(process.env.BENCH_RATE_LIMIT_ROUNDS ?? 3),
      warmup: 1,
    });
  } finally {
    await Promise.all([...Object.values(running).map((r) => r.stop()), origin.stop()]);
    await redis.stop();
  }
}
