import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { onCleanup, startOrigin } from '../helpers.js';
import { startPrivateRedis } from './redis-server.js';

const hooks = fileURLToPath(new URL('../../../../scripts/ts-hooks.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/fleet-gateway.ts', import.meta.url));

/** Forks one gateway process of the fleet and resolves to its port once it listens. */
function startGatewayProcess(options: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(fixture, [], {
      execArgv: ['--import', hooks],
      env: { ...process.env, FLEET_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code} before listening`)));
    child.once('message', (message: { type: string; port: number }) => {
      if (message.type === 'ready') resolve(message.port);
    });
  });
}

/** Redis's own clock in seconds (the clock the Lua bucket refills on), read on a connection of the test's own. */
async function redisSeconds(client: Redis): Promise<number> {
  const [seconds, micros] = (await client.time()).map(Number);
  return (seconds as number) + (micros as number) / 1e6;
}

describe('a fleet of gateways sharing the Redis store', () => {
  it('allows one limit for the fleet: requests allowed across two gateway processes are within 5 % of the rate', async () => {
    const redis = await startPrivateRedis();
    onCleanup(() => redis.stop());
    let reachedOrigin = 0;
    const origin = await startOrigin((req, res) => {
      reachedOrigin++;
      req.resume();
      res.end('ok');
    });
    // A burst of one second of rate: a stall of the (shared, noisy) machine shorter than that loses no tokens.
    const capacity = 50;
    const refillPerSecond = 50;
    const options = { redisUrl: redis.url, origin, capacity, refillPerSecond };
    const ports = await Promise.all([startGatewayProcess(options), startGatewayProcess(options)]);

    // Warm up both processes (connections, JIT) on another key, so the window measures the limit, not start-up.
    for (const port of ports) {
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/play/warm`, { headers: { 'x-api-key': 'warm-up' } });
        await response.arrayBuffer();
      }
    }
    reachedOrigin = 0;

    // Demand well above the rate on both gateways, for the whole window: 8 callers per gateway, one API key.
    const windowMs = 6000;
    const statuses = new Map<number, number>();
    const perGateway = new Map<number, number>();
    const clock = new Redis(redis.url);
    onCleanup(async () => void clock.disconnect());
    await redisSeconds(clock);
    const started = await redisSeconds(clock);
    const end = Date.now() + windowMs;
    const caller = async (port: number) => {
      while (Date.now() < end) {
        const response = await fetch(`http://127.0.0.1:${port}/play/title`, { headers: { 'x-api-key': 'fleet-key' } });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) perGateway.set(port, (perGateway.get(port) ?? 0) + 1);
      }
    };
    // The window closes when demand stops (the requests then in flight still count: they were asked for in it).
    const closed = new Promise<number>((resolve, reject) =>
      setTimeout(() => redisSeconds(clock).then(resolve, reject), windowMs),
    );
    await Promise.all(ports.flatMap((port) => Array.from({ length: 8 }, () => caller(port))));
    const elapsed = (await closed) - started;

    const allowed = statuses.get(200) ?? 0;
    const expected = capacity + refillPerSecond * elapsed;
    // Only 200s and 429s: the store answered every call (no fallback).
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    // Counted from outside the gateways too: what reached the origin.
    expect(reachedOrigin).toBe(allowed);
    // Both gateways served a share of the one limit.
    for (const port of ports) expect(perGateway.get(port) ?? 0).toBeGreaterThan(0);
    // The Done-when of the issue: one limit for the fleet, within 5 % (per-process buckets would allow about 2×).
    expect(
      Math.abs(allowed - expected) / expected,
      `allowed ${allowed}, expected ${expected.toFixed(1)}`,
    ).toBeLessThanOrEqual(0.05);
  });
});
