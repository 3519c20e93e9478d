import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseConfig } from '../config/parse.js';
import type { GatewayConfigInput } from '../config/schema.js';
import { isInvalidConfigError } from '../errors.js';
import { createGateway } from '../gateway.js';

const USAGE = `usage: backlot-gateway --config <gateway.json> [--check]

  --config, -c   JSON config file (watched: valid changes are applied live)
  --check        validate the config and exit (0 valid, 1 invalid)
  --help, -h     this help`;

function readConfig(path: string): GatewayConfigInput {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as GatewayConfigInput;
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Runs the CLI: `backlot-gateway --config gateway.json`. @internal */
export async function main(argv: readonly string[]): Promise<number> {
  let values: { config?: string | undefined; check?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(USAGE);
    return 64;
  }
  const path = resolve(values.config);
  let input: GatewayConfigInput;
  try {
    input = readConfig(path);
    parseConfig(input);
  } catch (error) {
    console.error(isInvalidConfigError(error) ? error.message : (error as Error).message);
    return 1;
  }
  if (values.check) {
    console.log(`${path}: valid`);
    return 0;
  }
  const logger = pino({ name: 'backlot-gateway' });
  const gateway = createGateway(input, { logger });
  const address = await gateway.listen();
  logger.info({ address: `${address.address}:${address.port}`, config: path }, 'gateway listening');
  gateway.watchConfigFile(path, {
    onReload: () => logger.info({ config: path }, 'config applied'),
    onError: (error) => logger.error({ err: error }, 'config refused; previous config keeps serving'),
  });
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'draining');
      resolveStop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await gateway.close();
  logger.info('stopped');
  return 0;
}
