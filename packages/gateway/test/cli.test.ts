import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/run.js';
import { get, named, onCleanup, startOrigin, until } from './helpers.js';
import { startPrivateRedis } from './rate-limit/redis-server.js';

/** Runs `main` with console output captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main(args);
    return {
      code,
      out: log.mock.calls.map((call) => String(call[0])).join('\n'),
      err: error.mock.calls.map((call) => String(call[0])).join('\n'),
    };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** An HTTP server of one JSON config, with an ETag per version and `304` for `If-None-Match`. */
async function startConfigServer(initial: unknown) {
  let version = 1;
  let text = JSON.stringify(initial);
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    if (req.url !== '/gateway.json') {
      res.writeHead(404).end();
      return;
    }
    const etag = `"v${version}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', etag }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.json`,
    requests,
    serve(config: unknown) {
      version++;
      text = JSON.stringify(config);
    },
  };
}

const hooks = fileURLToPath(new URL('../../../scripts/ts-hooks.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

interface LogLine {
  msg?: string;
  address?: string;
  config?: string;
  err?: { message?: string };
}

/** Spawns the CLI (its TypeScript sources, types stripped by Node) and collects its pino log lines. */
function spawnCli(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, ['--import', hooks, cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const logged = async (message: string, count = 1): Promise<LogLine> => {
    await until(() => {
      if (child.exitCode !== null) throw new Error(`the CLI exited ${child.exitCode}: ${stderr}`);
      return lines.filter((line) => line.msg === message).length >= count;
    }, 20_000);
    return lines.filter((line) => line.msg === message)[count - 1] as LogLine;
  };
  return { child, lines, exited, logged };
}

describe('backlot-gateway CLI', () => {
  it('validates a config file with --check, naming the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlot-cli-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ routes: [{ id: 'a', pathPrefix: '/', origin: 'http://127.0.0.1:8081' }] }));
    writeFileSync(bad, JSON.stringify({ routes: [{ id: 'a', pathPrefix: '/', origin: 'missing' }] }));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--config', good, '--check'])).toBe(0);
      expect(await main(['-c', bad, '--check'])).toBe(1);
      expect(String(error.mock.calls.at(-1)?.[0])).toMatch(/routes\[0\]\.origin: unknown origin 'missing'/);
      expect(await main([])).toBe(64);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });

  it('documents --config-url and refuses it with --config, without either, with a bad URL or interval', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--config-url, -u/);
    expect(help.out).toMatch(/--poll-interval/);

    const both = await run(['--config', 'gateway.json', '--config-url', 'http://127.0.0.1:1/gateway.json']);
    expect(both.code).toBe(64);
    expect(both.err).toMatch(/^give --config or --config-url, not both\n/);
    const neither = await run(['--check']);
    expect(neither.code).toBe(64);
    expect(neither.err).toMatch(/^give --config <file> or --config-url <url>\n/);
    expect(neither.err).toMatch(/usage: backlot-gateway/);

    expect((await run(['--config-url', 'ftp://example.com/gateway.json'])).err).toMatch(
      /--config-url must be an http\(s\) URL.*got 'ftp:\/\/example\.com\/gateway\.json'/,
    );
    expect((await run(['--config-url', 'http://127.0.0.1:1/g.json', '--poll-interval', '5'])).err).toMatch(
      /--poll-interval must be a whole number of ms, at least 100 \(got '5'\)/,
    );
    const stray = await run(['--config', 'gateway.json', '--poll-interval', '500']);
    expect([stray.code, stray.err.split('\n')[0]]).toEqual([64, '--poll-interval applies to --config-url only']);
    expect((await run(['--config-url'])).code).toBe(64); // missing value
  });

  it('checks a config served at a URL with --config-url --check', async () => {
    const valid = await startConfigServer({ routes: [{ id: 'a', pathPrefix: '/', origin: 'http://127.0.0.1:8081' }] });
    const ok = await run(['--config-url', valid.url, '--check']);
    expect([ok.code, ok.out]).toEqual([0, `${valid.url}: valid`]);

    const invalid = await startConfigServer({ routes: [{ id: 'a', pathPrefix: '/', origin: 'missing' }] });
    const bad = await run(['-u', invalid.url, '--check']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/routes\[0\]\.origin: unknown origin 'missing'/);

    const missing = await run(['--config-url', valid.url.replace('gateway.json', 'nothing.json'), '--check']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nothing\.json: HTTP 404/);
  });

  it('--redis gives rateLimit filters the fleet store "redis"; without it such a config is refused', async () => {
    const redis = await startPrivateRedis();
    onCleanup(() => redis.stop());
    const dir = mkdtempSync(join(tmpdir(), 'backlot-cli-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'gateway.json');
    const limit = {
      type: 'rateLimit',
      capacity: 2,
      refillPerSecond: 0.001,
      store: 'redis',
      onStoreError: 'failClosed',
    };
    writeFileSync(
      path,
      JSON.stringify({
        server: { port: 0 },
        routes: [{ id: 'hello', pathPrefix: '/', filters: [limit, { type: 'static', body: 'hi' }] }],
      }),
    );

    const without = await run(['--config', path, '--check']);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/routes\[0\]\.filters\[0\]\.store: no rate-limit store named 'redis'/);
    expect(without.err).toMatch(/given with --redis <url>/);
    expect((await run(['--config', path, '--check', '--redis', redis.url])).code).toBe(0);
    const badUrl = await run(['--config', path, '--redis', 'http://127.0.0.1:6379']);
    expect([badUrl.code, badUrl.err.split('\n')[0]]).toEqual([
      64,
      "--redis must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (got 'http://127.0.0.1:6379')",
    ]);

    const cliProcess = spawnCli(['--config', path, '--redis', redis.url]);
    const base = `http://${(await cliProcess.logged('gateway listening')).address}`;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(`${base}/x`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    // The bucket is in Redis, seen with a client that is not ours.
    expect(await redis.cli('--scan', '--pattern', 'backlot:ratelimit:route:hello#0:ip:*')).toMatch(
      /^backlot:ratelimit:/,
    );
    cliProcess.child.kill('SIGTERM');
    expect(await cliProcess.exited).toBe(0);
  });

  it('runs a gateway from --config-url in its own process, applying valid changes live', async () => {
    const a = await startOrigin(named('A'));
    const b = await startOrigin(named('B'));
    const config = (origin: string) => ({ server: { port: 0 }, routes: [{ id: 'r', pathPrefix: '/', origin }] });
    const remote = await startConfigServer(config(a));
    const cliProcess = spawnCli(['--config-url', remote.url, '--poll-interval', '100']);

    const listening = await cliProcess.logged('gateway listening');
    expect(listening.config).toBe(remote.url);
    const base = `http://${listening.address}`;
    expect((await get(`${base}/x`)).text).toBe('A');

    // Polls ask with the version in force and get 304: the first config is not applied twice.
    await until(() => remote.requests.filter((h) => h['if-none-match'] === '"v1"').length >= 2, 20_000);
    expect(remote.requests[0]?.['if-none-match']).toBeUndefined();
    expect(cliProcess.lines.some((line) => line.msg === 'config applied')).toBe(false);

    remote.serve(config(b));
    await cliProcess.logged('config applied');
    expect((await get(`${base}/x`)).text).toBe('B');

    remote.serve({ server: { port: 0 }, routes: [] });
    const refused = await cliProcess.logged('config refused; previous config keeps serving');
    expect(refused.err?.message).toMatch(/routes: routes must contain at least one route/);
    expect((await get(`${base}/x`)).text).toBe('B');

    cliProcess.child.kill('SIGTERM');
    expect(await cliProcess.exited).toBe(0);
    expect(cliProcess.lines.at(-1)?.msg).toBe('stopped');
  });
});
