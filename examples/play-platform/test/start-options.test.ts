import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStartOptions, type StartOptions, UsageError } from '../src/cli/start-options.ts';

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
const trendingWindow = (value: string) => {
  const options = parseStartOptions(['--trending-window', value], {});
  if (options === 'help') throw new Error('help');
  return options.trendingWindow;
};

describe('npm start -- --trending-window', () => {
  it('takes size/advance[/lateness] as durations', () => {
    expect(trendingWindow('60s/10s')).toEqual({ sizeMs: 60_000, advanceMs: 10_000 });
    expect(trendingWindow('4s/2s/1s')).toEqual({ sizeMs: 4000, advanceMs: 2000, allowedLatenessMs: 1000 });
    expect(trendingWindow('2m/500ms/0s')).toEqual({ sizeMs: 120_000, advanceMs: 500, allowedLatenessMs: 0 });
    expect(parseStartOptions([], {})).not.toHaveProperty('trendingWindow', expect.anything());
  });

  it('refuses a bad window with one line naming the flag and an example', () => {
    for (const [value, message] of [
      ['4s', '--trending-window must be <size>/<advance>[/<lateness>], e.g. --trending-window 60s/10s/5s'],
      ['1s/1s/1s/1s', '--trending-window must be <size>/<advance>[/<lateness>]'],
      ['a/b', '--trending-window must be a duration such as 30s, 2m or 1500ms'],
      ['10s/20s', 'the advance at most the size'],
      ['0s/0s', 'size and advance must be above 0'],
    ] as const) {
      expect(() => trendingWindow(value), value).toThrow(UsageError);
      expect(() => trendingWindow(value), value).toThrow(message);
    }
  });

  it('any text is a window or a UsageError, never another failure', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        try {
          const window = trendingWindow(value);
          expect(window?.sizeMs).toBeGreaterThan(0);
          expect(window?.advanceMs).toBeGreaterThan(0);
          expect(window?.advanceMs).toBeLessThanOrEqual(window?.sizeMs ?? 0);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
    );
  });

  it('reads every valid size/advance/lateness back in ms', () => {
    const unit = fc.constantFrom(['ms', 1], ['s', 1000], ['m', 60_000], ['', 1000]) as fc.Arbitrary<[string, number]>;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        unit,
        unit,
        (a, b, u, v) => {
          const [size, advance] =
            a * u[1] >= b * v[1] ? [`${a}${u[0]}`, `${b}${v[0]}`] : [`${b}${v[0]}`, `${a}${u[0]}`];
          const window = trendingWindow(`${size}/${advance}`);
          expect(window?.sizeMs).toBe(Math.max(a * u[1], b * v[1]));
          expect(window?.advanceMs).toBe(Math.min(a * u[1], b * v[1]));
        },
      ),
    );
  });
});
