import { z } from 'zod';
import { formatPath } from '../config/parse.js';
import { GatewayError, InvalidConfigError } from '../errors.js';
import { loadIoredis } from './load-ioredis.js';
import type { RedisClientLike } from './redis-client.js';
import type { RateLimitStore, TakeResult, TokenBucket } from './store.js';
import { TOKEN_BUCKET_LUA } from './token-bucket-lua.js';

const ms = (name: string) =>
  z
    .number({ error: `${name} must be a number of milliseconds` })
    .int(`${name} must be a whole number of ms`)
    .positive(`${name} must be > 0`);

/** Schema of {@link RedisRateLimitStoreOptions}: the defaults and the error text of each field. */
const redisStoreOptionsSchema = z.strictObject({
  url: z
    .string({ error: "url must be a redis:// or rediss:// URL, e.g. 'redis://127.0.0.1:6379'" })
    .regex(/^rediss?:\/\/[^\s]+$/, "url must be a redis:// or rediss:// URL, e.g. 'redis://127.0.0.1:6379'")
    .default('redis://127.0.0.1:6379'),
  client: z
    .custom<RedisClientLike>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as RedisClientLike).defineCommand === 'function' &&
        typeof (value as RedisClientLike).on === 'function',
      'client must be an ioredis client (new Redis(...))',
    )
    .optional(),
  keyPrefix: z
    .string({ error: "keyPrefix must be a string, e.g. 'backlot:ratelimit:'" })
    .max(256, 'keyPrefix must be at most 256 characters')
    .default('backlot:ratelimit:'),
  commandTimeoutMs: ms('commandTimeoutMs').default(1_000),
  connectTimeoutMs: ms('connectTimeoutMs').default(2_000),
  maxReconnectDelayMs: ms('maxReconnectDelayMs').default(2_000),
  autoPipelining: z.boolean({ error: 'autoPipelining must be true or false' }).default(true),
});

/** Options of {@link RedisRateLimitStore} (validated; each bad field is named in the error). */
export type RedisRateLimitStoreOptions = Omit<z.input<typeof redisStoreOptionsSchema>, 'client'> & {
  /**
   * An ioredis client of your own (its options are then yours; the store
   * never closes it). Default: a client the store creates from `url` and closes.
   */
  client?: RedisClientLike | undefined;
};

const COMMAND = 'backlotTokenBucket';

type TokenBucketCommand = (key: string, capacity: string, rate: string) => Promise<[number, string, number]>;

/**
 * Token buckets in Redis, shared by every gateway that uses the same Redis
 * and key prefix: one limit for the fleet. Each take is one round trip (a Lua
 * script sent with EVALSHA that refills, takes and expires atomically, on
 * Redis's own clock). Needs `ioredis` (optional peer dependency).
 *
 * The store fails fast instead of queueing: while the connection is not
 * ready, and for a command in flight when the connection drops, `take`
 * rejects with `BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED`, and the filter
 * applies the route's `onStoreError` (`failOpen` or `failClosed`). The client
 * reconnects in the background with a backoff capped at `maxReconnectDelayMs`.
 *
 * @throws {InvalidConfigError} naming each bad option.
 * @throws {GatewayError} `BACKLOT_GATEWAY_MISSING_PEER` when ioredis is not installed.
 * @example
 * ```ts
 * import { createGateway, RedisRateLimitStore } from '@backlot/gateway';
 *
 * const fleet = new RedisRateLimitStore({ url: 'redis://127.0.0.1:6379' });
 * await fleet.ready();
 * const gateway = createGateway(
 *   {
 *     routes: [{ id: 'api', pathPrefix: '/api', origin: 'http://127.0.0.1:8081' }],
 *     filters: [{ type: 'rateLimit', capacity: 100, refillPerSecond: 50, store: 'fleet', onStoreError: 'failOpen' }],
 *   },
 *   { rateLimitStores: { fleet } },
 * );
 * await gateway.listen();
 * ```
 */
export class RedisRateLimitStore implements RateLimitStore {
  /** `redis`. */
  readonly kind = 'redis';
  /** The ioredis client (the store's own, or the one given). */
  readonly client: RedisClientLike;
  /** The last connection error ioredis reported, if any (cleared when ready again). */
  lastError: Error | undefined;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #connectTimeoutMs: number;
  readonly #command: TokenBucketCommand;
  readonly #onError = (error: unknown) => {
    this.lastError = error as Error;
  };
  readonly #onReady = () => {
    this.lastError = undefined;
  };

  constructor(options: RedisRateLimitStoreOptions = {}) {
    const parsed = redisStoreOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new InvalidConfigError(
        parsed.error.issues.map((issue) => `RedisRateLimitStore ${formatPath(issue.path)}: ${issue.message}`),
      );
    }
    const config = parsed.data;
    this.#prefix = config.keyPrefix;
    this.#connectTimeoutMs = config.connectTimeoutMs;
    if (config.client) {
      this.client = config.client;
      this.#owned = false;
    } else {
      const Redis = loadIoredis();
      const maxDelay = config.maxReconnectDelayMs;
      this.client = new Redis(config.url, {
        // Fail fast, never queue: a take that cannot be answered now falls back at once.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: config.commandTimeoutMs,
        connectTimeout: config.connectTimeoutMs,
        retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
        // The takes of one event-loop tick go out in one write (ioredis auto-pipelining).
        enableAutoPipelining: config.autoPipelining,
      });
      this.#owned = true;
    }
    this.client.on('error', this.#onError);
    this.client.on('ready', this.#onReady);
    this.client.defineCommand(COMMAND, { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
    this.#command = (this.client as unknown as Record<string, TokenBucketCommand>)[COMMAND] as TokenBucketCommand;
  }

  /**
   * Resolves once the client is connected and answering (or at once if it is).
   *
   * @throws {GatewayError} `BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED` when not ready within `connectTimeoutMs`.
   */
  ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
      };
      const onReady = () => {
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new GatewayError(
            'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
            `redis did not become ready within ${this.#connectTimeoutMs} ms (status ${this.client.status}` +
              `${this.lastError ? `, last error: ${this.lastError.message}` : ''}); check that it runs at the store's url`,
            { cause: this.lastError },
          ),
        );
      }, this.#connectTimeoutMs);
      this.client.on('ready', onReady);
    });
  }

  /**
   * Takes one token from the bucket of `key` in one round trip.
   *
   * @throws {GatewayError} `BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED` when Redis is not connected or the command fails.
   */
  async take(key: string, { capacity, refillPerSecond }: TokenBucket): Promise<TakeResult> {
    if (this.client.status !== 'ready') {
      throw new GatewayError(
        'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
        `redis is not connected (status ${this.client.status}${this.lastError ? `: ${this.lastError.message}` : ''})`,
        { cause: this.lastError },
      );
    }
    let reply: [number, string, number];
    try {
      reply = await this.#command.call(this.client, this.#prefix + key, String(capacity), String(refillPerSecond));
    } catch (error) {
      throw new GatewayError(
        'BACKLOT_GATEWAY_RATE_LIMIT_STORE_FAILED',
        `redis token-bucket command failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const [allowed, remaining, retryAfterMs] = reply;
    return { allowed: allowed === 1, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs) };
  }

  /** Closes the store's own client (a client given in the options is left open); removes its listeners. */
  async close(): Promise<void> {
    this.client.off('error', this.#onError);
    this.client.off('ready', this.#onReady);
    if (!this.#owned) return;
    // Keep a listener: a late socket error after close must not become an unhandled 'error' event.
    this.client.on('error', () => {});
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    const timer = setTimeout(() => this.client.disconnect(), this.#connectTimeoutMs);
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    } finally {
      clearTimeout(timer);
    }
  }
}
