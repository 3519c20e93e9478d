import { z } from 'zod';
import { loadEnv, type ServiceConfig, serviceConfigFromEnv, serviceEnvSchema } from './http/config.ts';

/**
 * This service's environment: the HTTP settings every service reads
 * (`PORT`, `HOST`, `LOG_LEVEL`, `CHAOS_TOKEN`, `DRAIN_DELAY_MS`,
 * `DRAIN_TIMEOUT_MS`, `BODY_LIMIT_BYTES`; see `http/config.ts`) and its own.
 * Storage is read by `@backlot/storage`'s `storeConfigFromEnv` (`BACKLOT_STORAGE`…).
 */
export const appEnvSchema = serviceEnvSchema.extend({
  CATALOG_URL: z
    .url({ error: 'CATALOG_URL must be a URL' })
    .default('http://127.0.0.1:8082')
    .describe('the catalog service base URL, e.g. CATALOG_URL=http://127.0.0.1:8082'),
  GATEWAY_PORT: z.coerce
    .number({ error: 'GATEWAY_PORT must be a number' })
    .int('GATEWAY_PORT must be a whole number')
    .min(0, 'GATEWAY_PORT must be 0-65535')
    .max(65535, 'GATEWAY_PORT must be 0-65535')
    .default(8080)
    .describe('a port number for the gateway in front, e.g. GATEWAY_PORT=8080'),
  BACKLOT_KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$/, 'BACKLOT_KAFKA_BROKERS must be host:port[,host:port…]')
    .optional()
    .describe('host:port[,host:port…], or unset it for the embedded log in ./.backlot'),
});

/** What the service runs with. */
export interface AppConfig {
  http: ServiceConfig;
  catalogUrl: string;
  gatewayPort: number;
  kafkaBrokers: string[] | undefined;
}

/** Reads and validates the environment. @throws {ConfigError} naming each bad variable and the fix. */
export function appConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = loadEnv(appEnvSchema, env);
  return {
    http: serviceConfigFromEnv(env),
    catalogUrl: parsed.CATALOG_URL,
    gatewayPort: parsed.GATEWAY_PORT,
    kafkaBrokers: parsed.BACKLOT_KAFKA_BROKERS?.split(','),
  };
}
