import { describe, expect, it } from 'vitest';
import { parseStartOptions, type StartOptions } from '../src/cli/start-options.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseStartOptions(argv, env) as StartOptions;

describe('npm start: where the gateways keep their rate limits', () => {
  it('per gateway by default, in Redis in real mode (Kafka or S3 given)', () => {
    expect(parse([]).redisUrl).toBeUndefined();
    expect(parse(['--kafka', '127.0.0.1:9092']).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(parse(['--s3-endpoint', 'http://127.0.0.1:9000'], { BACKLOT_REDIS_PORT: '6380' }).redisUrl).toBe(
      'redis://127.0.0.1:6380',
    );
  });

  it('--redis, then BACKLOT_REDIS_URL, choose the Redis; BACKLOT_REDIS=off keeps per-gateway limits in real mode', () => {
    expect(parse(['--redis', 'redis://10.0.0.5:6379']).redisUrl).toBe('redis://10.0.0.5:6379');
    expect(parse([], { BACKLOT_REDIS_URL: 'rediss://cache:6380' }).redisUrl).toBe('rediss://cache:6380');
    expect(parse(['--kafka', '127.0.0.1:9092'], { BACKLOT_REDIS: 'off' }).redisUrl).toBeUndefined();
  });

  it('a --redis that is not a redis:// URL is one line naming the flag and an example', () => {
    expect(() => parse(['--redis', 'http://127.0.0.1:6379'])).toThrow(
      /^--redis must be a redis:\/\/ URL, e\.g\. --redis redis:\/\/127\.0\.0\.1:6379; see npm start -- --help$/,
    );
  });
});
