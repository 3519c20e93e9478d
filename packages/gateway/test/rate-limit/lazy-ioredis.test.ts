import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const hooks = fileURLToPath(new URL('../../../../scripts/ts-hooks.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/lazy-ioredis.ts', import.meta.url));
const run = async (...args: string[]) =>
  JSON.parse(
    (await promisify(execFile)(process.execPath, ['--import', hooks, fixture, ...args], { timeout: 30_000 })).stdout,
  );

describe('ioredis is an optional peer, loaded only by the Redis store', () => {
  it('not on import, not by the in-process store; on the first RedisRateLimitStore', async () => {
    expect(await run()).toEqual({ afterImport: false, afterMemory: false, afterRedis: true });
  });

  it('when it is not installed, the Redis store throws a coded error naming the package and the fix', async () => {
    expect(await run('missing')).toEqual({
      afterImport: false,
      afterMemory: false,
      code: 'BACKLOT_GATEWAY_MISSING_PEER',
      message:
        'the Redis rate-limit store needs ioredis, an optional peer dependency that is not installed: run `npm install ioredis`',
    });
  });
});
