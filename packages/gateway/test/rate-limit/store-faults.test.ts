import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayConfigInput,
  type GatewayLogger,
  isInvalidConfigError,
  parseConfig,
  type RateLimitStore,
  RedisRateLimitStore,
  registerPrometheusMetrics,
} from '../../src/index.js';
import { echo, get, onCleanup, startGateway, startOrigin, until } from '../helpers.js';
import { type PrivateRedis, startPrivateRedis } from './redis-server.js';

/** A logger that keeps every entry, to assert what the gateway told the operator. */
function recordingLogger(): GatewayLogger & {
  entries: { level: string; obj: Record<string, unknown>; msg?: string }[];
} {
  const entries: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    entries.push({ level, obj: obj as Record<string, unknown>, ...(msg === undefined ? {} : { msg }) });
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Two routes sharing one store, one failing open and one failing closed. */
function fleetConfig(origin: string, storeTimeoutMs = 50, storeRetryMs = 1000): GatewayConfigInput {
  const limit = {
    type: 'rateLimit',
    capacity: 10_000,
    refillPerSecond: 10_000,
    store: 'fleet',
    storeTimeoutMs,
    storeRetryMs,
  } as const;
  return {
    routes: [
      { id: 'open', pathPrefix: '/open', origin, filters: [{ ...limit, onStoreError: 'failOpen' }] },
      { id: 'closed', pathPrefix: '/closed', origin, filters: [{ ...limit, onStoreError: 'failClosed' }] },
    ],
  };
}

/** The value of one series of the gateway's prom families (0 when absent). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return found?.value ?? 0;
}

async function gatewayWith(store: RateLimitStore, storeTimeoutMs?: number, storeRetryMs?: number) {
  const origin = await startOrigin(echo);
  const logger = recordingLogger();
  const [gateway, base] = await startGateway(fleetConfig(origin, storeTimeoutMs, storeRetryMs), {
    rateLimitStores: { fleet: store },
    logger,
  });
  const registry = new Registry();
  const unregister = registerPrometheusMetrics(registry, { gateways: [gateway], commands: false });
  onCleanup(async () => unregister());
  return { base, logger, registry };
}

let redis: PrivateRedis;

beforeAll(async () => {
  redis = await startPrivateRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('rate-limit store faults', () => {
  it('Redis stopped mid-run: each route applies its own fallback, counted and logged once; recovers when Redis is back', async () => {
    const store = new RedisRateLimitStore({ url: redis.url, maxReconnectDelayMs: 100 });
    onCleanup(() => store.close());
    await store.ready();
    const { base, logger, registry } = await gatewayWith(store);

    expect((await get(`${base}/open/a`)).status).toBe(200);
    expect((await get(`${base}/closed/a`)).status).toBe(200);

    await redis.stop();
    const open = await Promise.all(Array.from({ length: 5 }, () => get(`${base}/open/a`)));
    const closed = await Promise.all(Array.from({ length: 5 }, () => get(`${base}/closed/a`)));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(closed.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    const body = JSON.parse(closed[0]?.text ?? '{}');
    expect(body.error).toBe('rate_limit_unavailable');
    expect(closed[0]?.headers.get('retry-after')).toBe('1');

    expect(
      await sample(registry, 'backlot_gateway_rate_limit_fallbacks_total', { route: 'open', mode: 'failOpen' }),
    ).toBe(5);
    expect(
      await sample(registry, 'backlot_gateway_rate_limit_fallbacks_total', { route: 'closed', mode: 'failClosed' }),
    ).toBe(5);
    // Each filter asked the dead store, then left it alone for a second: the other requests fell back at once.
    const errors = await sample(registry, 'backlot_gateway_rate_limit_store_errors_total', { store: 'fleet' });
    expect(errors).toBeGreaterThanOrEqual(2);
    expect(errors).toBeLessThanOrEqual(10);
    // One warning per filter when its store starts failing, not one per request.
    const warnings = logger.entries.filter((e) => e.level === 'warn' && e.obj.store === 'fleet');
    expect(warnings.map((w) => w.obj.onStoreError).sort()).toEqual(['failClosed', 'failOpen']);
    expect((warnings[0]?.obj.err as { code?: string } | undefined)?.code).toBe(
      'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
    );

    await redis.start();
    await until(async () => (await get(`${base}/closed/a`)).status === 200, 10_000);
    expect(logger.entries.some((e) => e.level === 'info' && e.msg === 'rate-limit store answers again')).toBe(true);
  });

  it('Redis that accepts and never answers (paused): the deadline hits, the fallback applies, nothing hangs', async () => {
    const store = new RedisRateLimitStore({ url: redis.url });
    onCleanup(() => store.close());
    await store.ready();
    // storeRetryMs far beyond the test: after the first timeout, the store is never asked again here.
    const { base, registry } = await gatewayWith(store, 100, 600_000);
    expect((await get(`${base}/open/b`)).status).toBe(200);

    redis.pause();
    try {
      const [open, closed] = await Promise.all([get(`${base}/open/b`), get(`${base}/closed/b`)]);
      expect(open.status).toBe(200);
      expect(closed.status).toBe(503);
      expect(JSON.parse(closed.text).error).toBe('rate_limit_unavailable');
      const timeouts = () =>
        sample(registry, 'backlot_gateway_rate_limit_store_errors_total', { store: 'fleet', reason: 'timeout' });
      expect(await timeouts()).toBe(2);
      // Right after a timeout the hung store is not asked again: these fall back without waiting on it.
      const again = await Promise.all(
        Array.from({ length: 6 }, (_, i) => get(`${base}/${i % 2 ? 'open' : 'closed'}/b`)),
      );
      expect(again.map((r) => r.status).sort()).toEqual([200, 200, 200, 503, 503, 503]);
      expect(await timeouts()).toBe(2);
      expect(await sample(registry, 'backlot_gateway_rate_limit_fallbacks_total', { route: 'closed' })).toBe(4);
    } finally {
      redis.resume();
    }
    // Redis answers again (the commands that timed out are answered late, and dropped).
    await expect(store.take('after-pause', { capacity: 1, refillPerSecond: 1 })).resolves.toMatchObject({
      allowed: true,
    });
  });

  it('a server that accepts connections and never speaks Redis: the store is never ready, requests fall back at once', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { port } = silent.address() as { port: number };
    const store = new RedisRateLimitStore({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
    onCleanup(() => store.close());
    await expect(store.ready()).rejects.toMatchObject({ code: 'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED' });
    const { base, registry } = await gatewayWith(store);
    expect((await get(`${base}/open/c`)).status).toBe(200);
    expect((await get(`${base}/closed/c`)).status).toBe(503);
    expect(await sample(registry, 'backlot_gateway_rate_limit_store_errors_total', { reason: 'error' })).toBe(2);
  });

  it('refuses a bad storeRetryMs, naming the field', async () => {
    const origin = await startOrigin(echo);
    await expect(
      startGateway({
        routes: [{ id: 'api', pathPrefix: '/', origin }],
        filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 1, storeRetryMs: -5 }],
      }),
    ).rejects.toThrow(/filters\[0\]\.storeRetryMs: storeRetryMs must be at least 1 ms/);
  });

  it("any store's call has the deadline: a store whose promise never settles is cut at storeTimeoutMs", async () => {
    const hung: RateLimitStore = { kind: 'hung', take: () => new Promise(() => {}) };
    const { base, registry } = await gatewayWith(hung, 30);
    const [open, closed] = await Promise.all([get(`${base}/open/d`), get(`${base}/closed/d`)]);
    expect([open.status, closed.status]).toEqual([200, 503]);
    expect(await sample(registry, 'backlot_gateway_rate_limit_store_errors_total', { reason: 'timeout' })).toBe(2);
  });

  it('a store that throws synchronously falls back like one that rejects', async () => {
    const broken: RateLimitStore = {
      kind: 'broken',
      take: () => {
        throw new Error('boom');
      },
    };
    const { base } = await gatewayWith(broken);
    expect((await get(`${base}/open/e`)).status).toBe(200);
    expect((await get(`${base}/closed/e`)).status).toBe(503);
  });
});

describe('rate-limit store config', () => {
  it('refuses a store name that was not given, naming the field and the fix', async () => {
    const origin = await startOrigin(echo);
    const fail = (stores?: Record<string, RateLimitStore>) =>
      startGateway(
        {
          routes: [
            {
              id: 'api',
              pathPrefix: '/',
              origin,
              filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 1, store: 'flet' }],
            },
          ],
        },
        { rateLimitStores: stores },
      ).catch((error: unknown) => error as Error);
    const none = (await fail()) as Error;
    expect(isInvalidConfigError(none)).toBe(true);
    expect(none.message).toMatch(/routes\[0\]\.filters\[0\]\.store: no rate-limit store named 'flet'; pass it as/);
    const typo = (await fail({
      fleet: { kind: 'memory', take: () => ({ allowed: true, remaining: 0, retryAfterMs: 0 }) },
    })) as Error;
    expect(typo.message).toMatch(/no rate-limit store named 'flet'; known: 'fleet'/);
  });

  it('refuses a rateLimitStores entry that is not a store, naming it', async () => {
    const origin = await startOrigin(echo);
    await expect(
      startGateway(
        { routes: [{ id: 'api', pathPrefix: '/', origin }] },
        {
          rateLimitStores: { fleet: { url: 'redis://127.0.0.1:6379' } as never },
        },
      ),
    ).rejects.toThrow(/rateLimitStores\.fleet: must be a rate-limit store \(an object with take\(key, bucket\)\)/);
  });

  it('refuses a bad onStoreError or storeTimeoutMs, naming the field', async () => {
    const origin = await startOrigin(echo);
    for (const [filter, message] of [
      [
        { onStoreError: 'failSoft' },
        /filters\[0\]\.onStoreError: onStoreError must be 'failOpen' \(let requests pass\) or 'failClosed'/,
      ],
      [{ storeTimeoutMs: 0 }, /filters\[0\]\.storeTimeoutMs: storeTimeoutMs must be at least 1 ms/],
      [{ store: 'no spaces' }, /filters\[0\]\.store: store names use letters/],
    ] as const) {
      await expect(
        startGateway({
          routes: [{ id: 'api', pathPrefix: '/', origin }],
          filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 1, ...filter } as never],
        }),
      ).rejects.toThrow(message);
    }
  });

  it('any shared-store settings either parse or are refused with issues naming only the bad fields (property)', () => {
    const settings = fc.record(
      {
        store: fc.oneof(fc.string(), fc.stringMatching(/^[\w.-]{1,12}$/), fc.integer()),
        onStoreError: fc.oneof(fc.constantFrom('failOpen', 'failClosed'), fc.string()),
        storeTimeoutMs: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.double(), fc.string()),
        storeRetryMs: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.double({ noNaN: true })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(settings, (extra) => {
        try {
          const config = parseConfig({
            routes: [{ id: 'api', pathPrefix: '/', origin: 'http://127.0.0.1:1' }],
            filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 1, ...extra }],
          });
          const filter = config.filters[0];
          expect(filter?.type === 'rateLimit' && ['failOpen', 'failClosed'].includes(filter.onStoreError)).toBe(true);
        } catch (error) {
          expect(isInvalidConfigError(error)).toBe(true);
          for (const issue of (error as { issues: string[] }).issues) {
            expect(issue).toMatch(/^filters\[0\]\.(store|onStoreError|storeTimeoutMs|storeRetryMs): \1 /);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a reload naming an unknown store is refused and the old config keeps serving', async () => {
    const origin = await startOrigin(echo);
    const [gateway, base] = await startGateway({ routes: [{ id: 'api', pathPrefix: '/', origin }] });
    expect(() =>
      gateway.reload({
        routes: [{ id: 'api', pathPrefix: '/', origin }],
        filters: [{ type: 'rateLimit', capacity: 1, refillPerSecond: 1, store: 'fleet' }],
      }),
    ).toThrow(/filters\[0\]\.store: no rate-limit store named 'fleet'/);
    expect((await get(`${base}/x`)).status).toBe(200);
  });
});
