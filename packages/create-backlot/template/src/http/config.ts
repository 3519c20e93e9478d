import { z } from 'zod';

/** pino's levels, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const integer = (name: string, min: number, max: number, unit = '') =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number${unit}`)
    .min(min, `${name} must be ${min}-${max}${unit}`)
    .max(max, `${name} must be ${min}-${max}${unit}`);

/**
 * The environment every service reads (`z.input` is what may be set, all
 * strings; `z.output` the parsed values with their defaults):
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `PORT` | 8081 | listening port (0: any free one) |
 * | `HOST` | 127.0.0.1 | listening address |
 * | `LOG_LEVEL` | warn | pino level; `info` logs every request as JSON |
 * | `CHAOS_TOKEN` | unset | turns fault injection at `/_chaos` on for callers sending it (off when unset) |
 * | `DRAIN_DELAY_MS` | 0 | on SIGTERM, how long `/ready` answers 503 before the listener closes (let the load balancer notice) |
 * | `DRAIN_TIMEOUT_MS` | 10000 | then how long in-flight requests may take before their connections are cut |
 * | `BODY_LIMIT_BYTES` | 1048576 | largest request body (413 above) |
 */
export const serviceEnvSchema = z.object({
  PORT: integer('PORT', 0, 65535).default(8081).describe('a port number, e.g. PORT=8081 (0: any free port)'),
  HOST: z.string().min(1).default('127.0.0.1').describe('an address to listen on, e.g. HOST=0.0.0.0'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS)
    .default('warn')
    .describe(`one of ${LOG_LEVELS.join(', ')}`),
  CHAOS_TOKEN: z
    .string()
    .min(16, 'CHAOS_TOKEN must be at least 16 characters')
    .optional()
    .describe('a secret of 16 characters or more, or unset it to turn fault injection off'),
  DRAIN_DELAY_MS: integer('DRAIN_DELAY_MS', 0, 600_000, ' (milliseconds)')
    .default(0)
    .describe('milliseconds, e.g. DRAIN_DELAY_MS=5000'),
  DRAIN_TIMEOUT_MS: integer('DRAIN_TIMEOUT_MS', 0, 600_000, ' (milliseconds)')
    .default(10_000)
    .describe('milliseconds, e.g. DRAIN_TIMEOUT_MS=10000'),
  BODY_LIMIT_BYTES: integer('BODY_LIMIT_BYTES', 1, 64 * 1024 * 1024, ' (bytes)')
    .default(1024 * 1024)
    .describe('bytes, e.g. BODY_LIMIT_BYTES=1048576'),
});

/** A service's configuration, parsed from {@link serviceEnvSchema}. */
export interface ServiceConfig {
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  chaosToken: string | undefined;
  drainDelayMs: number;
  drainTimeoutMs: number;
  bodyLimitBytes: number;
}

/** An environment variable is missing or invalid: `variables` names each, the message says how to fix it. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** EX_CONFIG, for a process that exits on it. */
  readonly exitCode = 78;
  readonly variables: string[];
  constructor(problems: { variable: string; message: string }[]) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'ConfigError';
    this.variables = problems.map((p) => p.variable);
  }
}

/**
 * Parses `env` (default `process.env`) with `schema`; every problem names the
 * variable, the value it had and what to set it to.
 *
 * @throws {ConfigError} when a variable is invalid.
 */
export function loadEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const keys = Object.keys(schema.shape);
  // Empty variables count as unset (`PORT= npm start`).
  const input = Object.fromEntries(keys.map((key) => [key, env[key] === '' ? undefined : env[key]]));
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '');
      const field = schema.shape[variable] as z.ZodType | undefined;
      const value = input[variable];
      const given = value === undefined ? 'is not set' : `=${JSON.stringify(value)} is invalid`;
      const fix = field?.description ? `; set it to ${field.description}` : '';
      return { variable, message: `${variable}${given}: ${issue.message}${fix}` };
    }),
  );
}

/** The service settings of {@link serviceEnvSchema} from `env`. @throws {ConfigError} */
export function serviceConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const parsed = loadEnv(serviceEnvSchema, env);
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    logLevel: parsed.LOG_LEVEL,
    chaosToken: parsed.CHAOS_TOKEN,
    drainDelayMs: parsed.DRAIN_DELAY_MS,
    drainTimeoutMs: parsed.DRAIN_TIMEOUT_MS,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
  };
}
