import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInvalidConfigError, RedisRateLimitStore } from '../../src/index.js';
import { type PrivateRedis, startPrivateRedis } from './redis-server.js';

let redis: PrivateRedis;
let store: RedisRateLimitStore;
let n = 0;
const freshKey = () => `test:${process.pid}:${Date.now()}:${n++}`;

beforeAll(async () => {
  redis = await startPrivateRedis();
  store = new RedisRateLimitStore({ url: redis.url });
  await store.ready();
});

afterAll(async () => {
  await store?.close();
  await redis?.stop();
});

describe('RedisRateLimitStore', () => {
  it('takes tokens until the bucket is empty, then refuses with the wait for the next one', async () => {
    const key = freshKey();
    const bucket = { capacity: 3, refillPerSecond: 0.5 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await store.take(key, bucket));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[2]?.remaining).toBeLessThan(1);
    // One token at 0.5/s: about 2 s away.
    expect(results[3]?.retryAfterMs).toBeGreaterThan(1000);
    expect(results[3]?.retryAfterMs).toBeLessThanOrEqual(2000);
    // Seen from outside: the bucket is a hash under the prefix, with an expiry.
    const tokens = Number(await redis.cli('HGET', `backlot:ratelimit:${key}`, 'tokens'));
    expect(tokens).toBeGreaterThanOrEqual(0);
    expect(tokens).toBeLessThan(1);
    expect(Number(await redis.cli('PTTL', `backlot:ratelimit:${key}`))).toBeGreaterThan(0);
  });

  it('is atomic: concurrent takes from many clients never exceed the capacity', async () => {
    const key = freshKey();
    const others = [new RedisRateLimitStore({ url: redis.url }), new RedisRateLimitStore({ url: redis.url })];
    await Promise.all(others.map((s) => s.ready()));
    try {
      const stores = [store, ...others];
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          (stores[i % stores.length] as RedisRateLimitStore).take(key, { capacity: 50, refillPerSecond: 0.001 }),
        ),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(50);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it('never allows more than capacity + rate × elapsed, and always allows a fresh burst (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.5, max: 500, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 15 })), {
          minLength: 1,
          maxLength: 8,
        }),
        async (capacity, refillPerSecond, steps) => {
          const key = freshKey();
          const bucket = { capacity, refillPerSecond };
          let allowed = 0;
          let taken = 0;
          const started = performance.now();
          for (const [burst, pauseMs] of steps) {
            const results = await Promise.all(Array.from({ length: burst }, () => store.take(key, bucket)));
            for (const result of results) {
              if (taken < capacity) expect(result.allowed).toBe(true); // a full bucket answers the first `capacity`
              taken++;
              if (result.allowed) allowed++;
              expect(result.remaining).toBeGreaterThanOrEqual(0);
              expect(result.remaining).toBeLessThanOrEqual(capacity);
            }
            if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          }
          const elapsedSeconds = (performance.now() - started) / 1000;
          expect(allowed).toBeLessThanOrEqual(capacity + refillPerSecond * elapsedSeconds + 1e-9);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps state on the server clock: a refill happens between takes, whatever the client clock', async () => {
    const key = freshKey();
    const bucket = { capacity: 1, refillPerSecond: 20 };
    expect((await store.take(key, bucket)).allowed).toBe(true);
    expect((await store.take(key, bucket)).allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 120)); // > 1/20 s on any clock
    expect((await store.take(key, bucket)).allowed).toBe(true);
  });

  it('refuses bad options with an error naming the field and the fix', () => {
    const attempts: unknown[] = [
      { url: 'http://127.0.0.1:6379' },
      { commandTimeoutMs: 0 },
      { connectTimeoutMs: 1.5 },
      { keyPrefix: 42 },
      { client: {} },
      { hostname: 'x' },
      { autoPipelining: 'yes' },
    ];
    const messages = attempts.map((options) => {
      try {
        new RedisRateLimitStore(options as never);
        return 'accepted';
      } catch (error) {
        expect(isInvalidConfigError(error)).toBe(true);
        return (error as Error).message;
      }
    });
    expect(messages[0]).toMatch(/url must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(messages[1]).toMatch(/commandTimeoutMs must be > 0/);
    expect(messages[2]).toMatch(/connectTimeoutMs must be a whole number/);
    expect(messages[3]).toMatch(/keyPrefix must be a string/);
    expect(messages[4]).toMatch(/client must be an ioredis client/);
    expect(messages[5]).toMatch(/hostname/);
    expect(messages[6]).toMatch(/autoPipelining must be true or false/);
  });

  it('fails fast with a coded error while Redis is unreachable, and ready() has a deadline', async () => {
    const dead = new RedisRateLimitStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 });
    try {
      await expect(dead.ready()).rejects.toMatchObject({ code: 'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED' });
      await expect(dead.take(freshKey(), { capacity: 1, refillPerSecond: 1 })).rejects.toMatchObject({
        code: 'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
        message: expect.stringMatching(/redis is not connected/),
      });
    } finally {
      await dead.close();
    }
  });
});
