/**
 * `npm run bench -- gateway`: an edge proxy's throughput and latency, Backlot
 * vs its peers, side by side in one run (see bench/lib/harness.ts), all in
 * front of the same local origin (node:http, ~1 KiB JSON).
 *
 * Subjects, each in its own process: `direct` (no proxy), `backlot` (route
 * match, request id + traceparent, forwarded headers, metrics, per-origin
 * breaker + timeout command, 1 % sampled pino access log to /dev/null),
 * `fastify-http-proxy`, `http-proxy` (keep-alive agent), `undici-passthrough`
 * (node:http + Pool.request piped to the response, a dozen lines) and `nginx`
 * (1 worker, keep-alive upstream). `backlot-observed` is `backlot` with its
 * metrics registered in a prom-client registry and an OpenTelemetry SDK
 * installed that samples nothing (the SDK as a service registers it: an
 * AsyncLocalStorage context manager, the W3C propagator and a tracer provider
 * with `AlwaysOffSampler`, bench/lib/otel.ts); `undici-otel-off` is
 * `undici-passthrough` with the same SDK, so that backlot-observed /
 * undici-otel-off can be set against backlot / undici-passthrough (what the
 * SDK costs any process, and what it costs the gateway's spans on top).
 * `backlot-prom` has its metrics registered only (the families' cost alone).
 *
 * Figures per round: wrk -t2 -c50 (max throughput: rps, p50, p99, and for the
 * Node subjects the process CPU per request, cpu_us_per_req, which shared
 * cores disturb far less than throughput), then a
 * fixed-rate run at 50 % of the slowest proxy's maximum (measured first)
 * (an in-process open-loop generator on an undici Pool of 50 connections,
 * latency measured from each request's scheduled time, so a stall is not
 * hidden by coordinated omission): fixed_p50/p99/p999, and for the Node
 * subjects the p99 of the time spent inside their own process
 * (fixed_inside_p99_ms, from node:http's diagnostics channels).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { type Figures, runBench } from './lib/harness.ts';
import { installOpenTelemetry } from './lib/otel.ts';

const WRK_SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 6);
const FIXED_SECONDS = 4;
const CONNECTIONS = 50;
const self = fileURLToPath(import.meta.url);

// ───────────────────────────── child roles ─────────────────────────────

const PAYLOAD = JSON.stringify({
  id: '80100172',
  title: 'Stranger Things',
  synopsis: 'When a young boy vanishes, a small town uncovers a mystery involving secret experiments. '.repeat(8),
  seasons: [1, 2, 3, 4, 5],
}).slice(0, 1024);

async function role(name: string, target: string): Promise<number> {
  if (name === 'origin') {
    const body = Buffer.from(PAYLOAD);
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 60_000;
    return listen(server);
  }
  if (name === 'backlot' || name === 'backlot-observed' || name === 'backlot-prom') {
    const { createGateway, registerPrometheusMetrics } = await import('@backlot/gateway');
    const { default: pino } = await import('pino');
    const gateway = createGateway(
      {
        server: { keepAliveTimeoutMs: 60_000 },
        origins: { play: { servers: [target], connections: 64 } },
        routes: [
          { id: 'health', path: '/health', filters: [{ type: 'static', body: 'ok' }] },
          { id: 'play', pathPrefix: '/', origin: 'play' },
        ],
        filters: [{ type: 'requestId' }],
        accessLog: { sampleRate: 0.01, errors: true },
      },
      { logger: pino(pino.destination('/dev/null')) },
    );
    if (name === 'backlot-prom') {
      // Metrics registered in a prom-client registry, nothing else: what the families cost per request.
      const { Registry } = await import('prom-client');
      registerPrometheusMetrics(new Registry());
    }
    if (name === 'backlot-observed') {
      // Metrics registered in a prom-client registry, and an OpenTelemetry SDK that samples nothing.
      const { Registry } = await import('prom-client');
      registerPrometheusMetrics(new Registry());
      installOpenTelemetry(false);
    }
    return (await gateway.listen({ port: 0, host: '127.0.0.1' })).port;
  }
  if (name === 'fastify-http-proxy') {
    const { default: Fastify } = await import('fastify');
    const { default: proxy } = await import('@fastify/http-proxy');
    const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
    await app.register(proxy, { upstream: target, undici: { connections: 64, pipelining: 1 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  }
  if (name === 'http-proxy') {
    const { default: httpProxy } = await import('http-proxy');
    const { Agent: HttpAgent } = await import('node:http');
    const proxy = httpProxy.createProxyServer({ target, agent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) });
    proxy.on('error', (_error, _req, res) => {
      if ('writeHead' in res && !res.headersSent) res.writeHead(502);
      res.end();
    });
    const server = createServer((req, res) => proxy.web(req, res));
    server.keepAliveTimeout = 60_000;
    return listen(server);
  }
  if (name === 'undici-passthrough' || name === 'undici-otel-off') {
    // The same SDK as backlot-observed's: what it costs a process that has no span of its own to make.
    if (name === 'undici-otel-off') installOpenTelemetry(false);
    const pool = new Pool(target, { connections: 64 });
    // `body.pipe(res)`, not `await pipeline(body, res)` from node:stream/promises: the promise
    // form measured 1.5–2× slower on the 2-core bench machine (2026-11-26), and the pass-through
    // is meant as the ceiling of the request API, not a handicapped peer.
    const server = createServer(async (req, res) => {
      try {
        const upstream = await pool.request({ path: req.url ?? '/', method: 'GET', headers: req.headers });
        res.writeHead(upstream.statusCode, upstream.headers as Record<string, string>);
        upstream.body.on('error', () => res.destroy());
        res.on('close', () => upstream.body.destroy());
        upstream.body.pipe(res);
      } catch {
        res.destroy();
      }
    });
    server.keepAliveTimeout = 60_000;
    return listen(server);
  }
  throw new Error(`unknown role ${name}`);
}

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/**
 * Time spent inside a Node subject's process per request (request head parsed →
 * response finished, from node:http's diagnostics channels), so a tail can be
 * told apart from the load generator's and the scheduler's. The driver resets
 * it before a fixed-rate run and asks for its p99 after (over IPC).
 */
function measureInside(): void {
  const inside = createHistogram();
  const started = new WeakMap<object, bigint>();
  subscribe('http.server.request.start', (message) => {
    started.set((message as { request: object }).request, process.hrtime.bigint());
  });
  subscribe('http.server.response.finish', (message) => {
    const start = started.get((message as { request: object }).request);
    if (start !== undefined) inside.record(Number(process.hrtime.bigint() - start) || 1);
  });
  process.on('message', (message) => {
    if (message === 'reset') inside.reset();
    if (message === 'report') process.send?.({ insideP99Ms: inside.count ? inside.percentile(99) / 1e6 : Number.NaN });
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuUs: user + system });
    }
  });
}

if (process.env.BACKLOT_BENCH_ROLE) {
  measureInside();
  const port = await role(process.env.BACKLOT_BENCH_ROLE, process.env.BACKLOT_BENCH_TARGET ?? '');
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

// ───────────────────────────── driver ─────────────────────────────

interface Running {
  url: string;
  stop(): Promise<void>;
  /** Node subjects: restarts the in-process latency histogram. */
  resetInside?(): void;
  /** Node subjects: p99 of the in-process time per request since the reset, in ms. */
  insideP99?(): Promise<number>;
  /** Node subjects: CPU time (user + system, all threads) the process has used so far, in µs. */
  cpuUs?(): Promise<number>;
}

function startRole(name: string, target = ''): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, [self], {
    env: { ...process.env, BACKLOT_BENCH_ROLE: name, BACKLOT_BENCH_TARGET: target },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString().split('\n')[0] as string) as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        resetInside: () => child.send('reset'),
        insideP99: () =>
          new Promise((answer) => {
            child.once('message', (message) => answer((message as { insideP99Ms: number }).insideP99Ms));
            child.send('report');
          }),
        cpuUs: () =>
          new Promise((answer) => {
            child.once('message', (message) => answer((message as { cpuUs: number }).cpuUs));
            child.send('cpu');
          }),
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

async function startNginx(target: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-nginx-'));
  const port = await freePort();
  const upstream = new URL(target);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream origin { server ${upstream.hostname}:${upstream.port}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await reachable(url)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          done();
        });
        child.kill('SIGQUIT');
      }),
  };
}

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }),
  );
}

function reachable(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const toMs = (value: string) => {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  return match ? Number(match[1]) * (UNIT_MS[match[2] as string] as number) : Number.NaN;
};

/** Max throughput with wrk: requests/s and p50/p99 from its latency distribution (and the request count). */
function wrk(url: string, seconds: number): Figures {
  const out = execFileSync(
    '/usr/bin/wrk',
    ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `${url}/titles/80100172`],
    {
      encoding: 'utf8',
    },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${url}: ${non2xx[1]} non-2xx responses`);
  return { rps, p50_ms: p50, p99_ms: p99, requests };
}

/** Open-loop fixed-rate load: latency from each request's scheduled start. */
async function fixedRate(url: string, rate: number, seconds: number): Promise<Figures> {
  const pool = new Pool(url, { connections: CONNECTIONS });
  const latencies: number[] = [];
  const total = Math.floor(rate * seconds);
  const start = performance.now();
  const interval = 1000 / rate;
  let sent = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const scheduled = start + sent * interval;
        sent++;
        const p = pool
          .request({ path: '/titles/80100172', method: 'GET' })
          .then(async (res) => {
            await res.body.dump();
            latencies.push(performance.now() - scheduled);
          })
          .catch(() => {
            errors++;
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inflight);
  await pool.close();
  if (errors) throw new Error(`${url}: ${errors} errors at fixed rate`);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
  return { fixed_p50_ms: at(0.5), fixed_p99_ms: at(0.99), fixed_p999_ms: at(0.999) };
}

/** The Debian tools this bench drives, checked before anything starts so a missing one is one clear line. */
function requireTools(): void {
  const missing = ['/usr/bin/wrk', '/usr/sbin/nginx'].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `the gateway bench needs ${missing.join(' and ')}: install them with 'apt-get install -y wrk nginx'`,
    );
  }
}

export default async function run() {
  requireTools();
  const origin = await startRole('origin');
  const running: Record<string, Running> = {
    backlot: await startRole('backlot', origin.url),
    'backlot-observed': await startRole('backlot-observed', origin.url),
    'backlot-prom': await startRole('backlot-prom', origin.url),
    'fastify-http-proxy': await startRole('fastify-http-proxy', origin.url),
    'http-proxy': await startRole('http-proxy', origin.url),
    'undici-passthrough': await startRole('undici-passthrough', origin.url),
    'undici-otel-off': await startRole('undici-otel-off', origin.url),
    nginx: await startNginx(origin.url),
  };
  const urls: Record<string, string> = { direct: origin.url };
  for (const [name, r] of Object.entries(running)) urls[name] = r.url;
  try {
    // Calibrate the fixed rate: 50 % of the slowest proxy's maximum, so that every subject
    // runs it below saturation (a rate one subject cannot sustain measures its queue, not its tail).
    const maxima: Record<string, number> = {};
    for (const [name, url] of Object.entries(urls)) {
      if (name === 'direct') continue;
      wrk(url, 1);
      maxima[name] = wrk(url, 3).rps as number;
    }
    const [slowest, slowestRps] = Object.entries(maxima).sort((a, b) => a[1] - b[1])[0] as [string, number];
    const rate = Math.round(slowestRps * 0.5);
    console.log(`fixed-rate runs at ${rate} req/s (50 % of the slowest proxy's maximum: ${slowest})`);
    const subject = (name: string, url: string) => async (): Promise<Figures> => {
      const measured = name === 'direct' ? origin : running[name];
      const cpuBefore = await measured?.cpuUs?.();
      const { requests, ...figures } = wrk(url, WRK_SECONDS);
      const cpuAfter = await measured?.cpuUs?.();
      if (cpuBefore !== undefined && cpuAfter !== undefined) {
        figures.cpu_us_per_req = (cpuAfter - cpuBefore) / (requests as number);
      }
      measured?.resetInside?.();
      Object.assign(figures, await fixedRate(url, rate, FIXED_SECONDS));
      const inside = await measured?.insideP99?.();
      if (inside !== undefined) figures.fixed_inside_p99_ms = inside;
      return figures;
    };
    return await runBench({
      name: 'gateway',
      unit: {
        rps: 'requests/s, wrk -t2 -c50 (higher is better)',
        p50_ms: 'ms, p50 latency at max throughput (lower is better)',
        p99_ms: 'ms, p99 latency at max throughput (lower is better)',
        cpu_us_per_req:
          "µs of the subject process's CPU per request at max throughput (direct: the origin's); Node subjects only (lower is better)",
        fixed_p50_ms: `ms, p50 latency at a fixed ${rate} req/s (lower is better)`,
        fixed_p99_ms: `ms, p99 latency at a fixed ${rate} req/s (lower is better)`,
        fixed_p999_ms: `ms, p99.9 latency at a fixed ${rate} req/s (lower is better)`,
        fixed_inside_p99_ms: `ms, p99 time inside the subject's process (request parsed to response finished) at ${rate} req/s; Node subjects only (lower is better)`,
      },
      subjects: Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, subject(name, url)])),
      reference: 'direct',
      rounds: Number(process.env.BENCH_GATEWAY_ROUNDS ?? 3),
      warmup: 1,
    });
  } finally {
    await Promise.all([...Object.values(running).map((r) => r.stop()), origin.stop()]);
  }
}
