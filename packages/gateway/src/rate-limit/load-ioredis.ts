import { createRequire } from 'node:module';
import { GatewayError } from '../errors.js';
import type { RedisClientLike } from './redis-client.js';

/** The part of ioredis's default export the Redis store uses: `new Redis(url, options)`. @internal */
export type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClientLike;

/**
 * Loads ioredis (`require('ioredis')`, from this package's location) on first
 * use: it is an optional peer dependency, needed only by the Redis store.
 *
 * @throws {GatewayError} `BACKLOT_GATEWAY_MISSING_PEER` naming the package when it is not installed.
 * @internal
 */
export function loadIoredis(): RedisConstructor {
  // `require` of this module's location in both builds: CommonJS has `__filename`, ESM `import.meta.url`.
  const load = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    const mod = load('ioredis') as RedisConstructor & { default?: RedisConstructor };
    return mod.default ?? mod;
  } catch (error) {
    throw new GatewayError(
      'BACKLOT_GATEWAY_MISSING_PEER',
      'the Redis rate-limit store needs ioredis, an optional peer dependency that is not installed: run `npm install ioredis`',
      { cause: error },
    );
  }
}
