import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, serviceConfigFromEnv } from '../../src/http/config.ts';

const failure = (env: NodeJS.ProcessEnv) => {
  try {
    serviceConfigFromEnv(env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('service configuration from the environment', () => {
  it('defaults: port 8081 on 127.0.0.1, quiet logs, chaos off', () => {
    expect(serviceConfigFromEnv({})).toEqual({
      port: 8081,
      host: '127.0.0.1',
      logLevel: 'warn',
      chaosToken: undefined,
      drainDelayMs: 0,
      drainTimeoutMs: 10_000,
      bodyLimitBytes: 1024 * 1024,
    });
  });

  it('reads every variable; an empty one counts as unset', () => {
    const config = serviceConfigFromEnv({
      PORT: '9000',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      CHAOS_TOKEN: 'a-token-of-16-chars',
      DRAIN_DELAY_MS: '',
      DRAIN_TIMEOUT_MS: '2500',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      logLevel: 'info',
      drainDelayMs: 0,
      drainTimeoutMs: 2500,
    });
  });

  it.each([
    [{ PORT: '70000' }, 'PORT', 'PORT="70000" is invalid: PORT must be 0-65535; set it to a port number'],
    [{ PORT: '80.5' }, 'PORT', 'PORT must be a whole number'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'set it to one of trace, debug, info, warn, error, fatal, silent'],
    [{ CHAOS_TOKEN: 'abc' }, 'CHAOS_TOKEN', 'or unset it to turn fault injection off'],
    [{ DRAIN_TIMEOUT_MS: '-1' }, 'DRAIN_TIMEOUT_MS', 'DRAIN_TIMEOUT_MS must be 0-600000 (milliseconds)'],
    [{ BODY_LIMIT_BYTES: 'lots' }, 'BODY_LIMIT_BYTES', 'BODY_LIMIT_BYTES must be a number'],
  ])('%j is a ConfigError naming %s and the fix', (env, variable, message) => {
    const error = failure(env);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.variables).toEqual([variable]);
    expect(error.message).toContain(message);
  });

  it('names every bad variable at once', () => {
    expect(failure({ PORT: 'x', LOG_LEVEL: 'y' }).variables).toEqual(['PORT', 'LOG_LEVEL']);
  });

  it('property: any PORT string either parses to a port 0-65535 or names PORT', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer({ min: -100_000, max: 100_000 }).map(String)), (port) => {
        try {
          const config = serviceConfigFromEnv({ PORT: port });
          expect(Number.isInteger(config.port) && config.port >= 0 && config.port <= 65535).toBe(true);
        } catch (error) {
          expect((error as ConfigError).variables).toEqual(['PORT']);
        }
      }),
    );
  });
});
