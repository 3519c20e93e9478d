import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseConfig } from '../config/parse.js';
import { fetchConfigUrl } from '../config/remote.js';
import type { GatewayConfigInput } from '../config/schema.js';
import { isGatewayError, isInvalidConfigError } from '../errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { checkRateLimitStores } from '../rate-limit/check-stores.js';
import { RedisRateLimitStore } from '../rate-limit/redis-store.js';

const USAGE = `usage: backlot-gateway (--config <gateway.json> | --config-url <url>) [--poll-interval <ms>] [--redis <url>] [--check]

  --config, -c       JSON config file (watched: valid changes are applied live)
  --config-url, -u   JSON config at an http(s) URL, polled with If-None-Match
                     (valid changes are applied live; the config in force keeps
                     serving while the URL fails or serves an invalid one)
  --poll-interval    ms between polls of --config-url (default 10000, at least 100)
  --redis            redis:// URL of a Redis shared by the fleet: rateLimit filters
                     with "store": "redis" keep their buckets there (needs ioredis)
  --check            validate the config and exit (0 valid, 1 invalid)
  --help, -h         this help

Give exactly one of --config and --config-url.`;

/** What the CLI adds to an unknown-store error: its one store, and how to give it. */
const STORE_HINT = "backlot-gateway has one shared store, 'redis', given with --redis <url>";

/** Exit code of a command-line mistake (sysexits EX_USAGE). */
const USAGE_ERROR = 64;
const MIN_POLL_INTERVAL_MS = 100;

function readConfig(path: string): GatewayConfigInput {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as GatewayConfigInput;
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Where the config comes from, as the flags say; a message for a usage error. */
type Source =
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string; intervalMs: number | undefined }
  | { kind: 'usage'; message: string };

function source(values: {
  config?: string | undefined;
  'config-url'?: string | undefined;
  'poll-interval'?: string | undefined;
}): Source {
  const { config, 'config-url': url, 'poll-interval': interval } = values;
  if (config !== undefined && url !== undefined) {
    return { kind: 'usage', message: 'give --config or --config-url, not both' };
  }
  if (config === undefined && url === undefined) {
    return { kind: 'usage', message: 'give --config <file> or --config-url <url>' };
  }
  if (url === undefined) {
    if (interval !== undefined) return { kind: 'usage', message: '--poll-interval applies to --config-url only' };
    return { kind: 'file', path: resolve(config as string) };
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return {
      kind: 'usage',
      message: `--config-url must be an http(s) URL, e.g. http://127.0.0.1:8080/gateway.json (got '${url}')`,
    };
  }
  let intervalMs: number | undefined;
  if (interval !== undefined) {
    intervalMs = Number(interval);
    if (!/^\d+$/.test(interval) || intervalMs < MIN_POLL_INTERVAL_MS) {
      return {
        kind: 'usage',
        message: `--poll-interval must be a whole number of ms, at least ${MIN_POLL_INTERVAL_MS} (got '${interval}')`,
      };
    }
  }
  return { kind: 'url', url, intervalMs };
}

/**
 * Runs the CLI: `backlot-gateway --config gateway.json`, or
 * `backlot-gateway --config-url http://127.0.0.1:8080/gateway.json`. @internal
 */
export async function main(argv: readonly string[]): Promise<number> {
  let values: {
    config?: string | undefined;
    'config-url'?: string | undefined;
    'poll-interval'?: string | undefined;
    redis?: string | undefined;
    check?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'config-url': { type: 'string', short: 'u' },
        'poll-interval': { type: 'string' },
        redis: { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return USAGE_ERROR;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const from = source(values);
  if (from.kind === 'usage') {
    console.error(`${from.message}\n\n${USAGE}`);
    return USAGE_ERROR;
  }
  const name = from.kind === 'file' ? from.path : from.url;
  let input: GatewayConfigInput;
  let version: string | undefined;
  try {
    if (from.kind === 'file') {
      input = readConfig(from.path);
    } else {
      const fetched = await fetchConfigUrl(from.url);
      input = fetched.config as GatewayConfigInput;
      version = fetched.version;
    }
    checkRateLimitStores(parseConfig(input), values.redis === undefined ? {} : { redis: true });
  } catch (error) {
    const message = isInvalidConfigError(error) ? error.message : (error as Error).message;
    console.error(message.startsWith(name) || isInvalidConfigError(error) ? message : `${name}: ${message}`);
    if (message.includes('no rate-limit store named')) console.error(STORE_HINT);
    return 1;
  }
  if (values.check) {
    console.log(`${name}: valid`);
    return 0;
  }
  const logger = pino({ name: 'backlot-gateway' });
  let redis: RedisRateLimitStore | undefined;
  if (values.redis !== undefined) {
    try {
      redis = new RedisRateLimitStore({ url: values.redis });
    } catch (error) {
      if (isInvalidConfigError(error)) {
        console.error(
          `--redis must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (got '${values.redis}')\n\n${USAGE}`,
        );
        return USAGE_ERROR;
      }
      if (isGatewayError(error)) {
        console.error(error.message); // ioredis is not installed
        return 1;
      }
      throw error;
    }
  }
  let gateway: Gateway;
  try {
    gateway = createGateway(input, { logger, ...(redis ? { rateLimitStores: { redis } } : {}) });
  } catch (error) {
    await redis?.close();
    if (!isInvalidConfigError(error)) throw error;
    console.error(error.message);
    if (error.message.includes('no rate-limit store named')) console.error(STORE_HINT);
    return 1;
  }
  // A Redis that is not up yet is not fatal: the filters' onStoreError applies until it answers.
  await redis?.ready().catch((error: Error) => logger.warn({ err: error }, 'redis not ready; rate limits fall back'));
  const address = await gateway.listen();
  logger.info({ address: `${address.address}:${address.port}`, config: name }, 'gateway listening');
  watch(gateway, from, version, logger);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'draining');
      resolveStop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await gateway.close();
  await redis?.close();
  logger.info('stopped');
  return 0;
}

/** Applies valid changes of the config file or URL live (`close()` stops watching). */
function watch(
  gateway: Gateway,
  from: Extract<Source, { kind: 'file' | 'url' }>,
  version: string | undefined,
  logger: pino.Logger,
): void {
  const config = from.kind === 'file' ? from.path : from.url;
  const callbacks = {
    onReload: () => logger.info({ config }, 'config applied'),
    onError: (error: Error) => logger.error({ err: error, config }, 'config refused; previous config keeps serving'),
  };
  if (from.kind === 'file') {
    gateway.watchConfigFile(from.path, callbacks);
    return;
  }
  gateway.watchConfigUrl(from.url, {
    ...callbacks,
    ...(from.intervalMs === undefined ? {} : { intervalMs: from.intervalMs }),
    ...(version === undefined ? {} : { version }),
  });
}
