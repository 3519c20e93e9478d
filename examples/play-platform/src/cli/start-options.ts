/**
 * `npm start`'s command line: flags and environment, validated with zod at
 * the boundary. Every problem is one line naming the flag and the fix.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type CassandraOptions, cassandraEnvSchema } from '../data/cassandra.ts';
import { LOG_LEVELS, loadEnv, type ServiceConfig, serviceEnvSchema } from '../http/config.ts';
import type { TrendingWindow } from '../stream/processor.ts';
import { duration } from './duration.ts';

export const USAGE = `Usage: npm start -- [options]

Starts the whole Play platform (microservices, Play API and its canary,
gateway processes behind a load balancer, events, stream processor) until
Ctrl-C or SIGTERM.

Options:
  --port <n>             load balancer port, what clients call (default 8080, or PORT)
  --gateways <n>         gateway processes behind it, 1-16 (default 2)
  --admin-port <n>       dashboard and chaos controls on 127.0.0.1 (default 9900, or PLAY_ADMIN_PORT)
  --canary-percent <n>   share of /play for the canary Play API v2, 0-100 (default 10)
  --data-dir <folder>    filesystem store and event log (default examples/play-platform/.data)
  --memory               data in memory, events in a temporary folder removed on exit
  --kafka <host:port,…>  real mode: events on these Kafka brokers (or BACKLOT_KAFKA_BROKERS)
  --s3-endpoint <url>    real mode: data and outputs in S3 here (or BACKLOT_S3_ENDPOINT)
  --s3-bucket <name>     the bucket, created if missing (default play-platform, or BACKLOT_S3_BUCKET)
  --cassandra <host:port,…>
                         real mode: bookmarks, licences and viewing history in Cassandra
                         (or BACKLOT_CASSANDRA_CONTACT_POINTS; keyspace BACKLOT_CASSANDRA_KEYSPACE,
                         default play_platform; BACKLOT_CASSANDRA_CONSISTENCY, default localQuorum;
                         BACKLOT_CASSANDRA_DATACENTER, default datacenter1)
  --redis <url>          the gateways share their rate limits in this Redis (or BACKLOT_REDIS_URL; in
                         real mode default redis://127.0.0.1:6379, BACKLOT_REDIS=off for per-gateway limits)
  --trending-window <size>/<advance>[/<lateness>]
                         trending's hopping windows on event time (default 60s/10s/5s), e.g. 4s/2s/1s
                         to see trending move within seconds
  --log-level <level>    services' and Play APIs' pino JSON logs on stdout: trace, debug, info (every
                         request, with its request id), warn, error, fatal, silent (default, or LOG_LEVEL)
  --trace-sample <r>     share of Play requests traced with OpenTelemetry, 0-1, shown as waterfalls
                         on the dashboard; 0 installs no SDK (default 1, or PLAY_TRACE_SAMPLE)
  -h, --help             this text

Environment of the services (see src/http/config.ts): CHAOS_TOKEN turns each
service's own /_chaos endpoint on (off when unset), DRAIN_DELAY_MS,
DRAIN_TIMEOUT_MS and BODY_LIMIT_BYTES.

Examples:
  npm start
  npm start -- --log-level info
  npm start -- --port 8081 --admin-port 9901 --memory
  npm start -- --kafka 127.0.0.1:9092 --s3-endpoint http://127.0.0.1:9000 --s3-bucket play \\
    --cassandra 127.0.0.1:9042
  npm start -- --kafka 127.0.0.1:9092 --s3-endpoint http://127.0.0.1:9000 --redis redis://127.0.0.1:6379`;

/** A command line `npm start` cannot run with: one line, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  readonly code = 'usage';
  readonly exitCode = 64;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const port = (flag: string) =>
  z.coerce
    .number({ error: `${flag} must be a port number, e.g. ${flag} 8080` })
    .int(`${flag} must be a whole port number, e.g. ${flag} 8080`)
    .min(0, `${flag} must be 0-65535 (0: any free port)`)
    .max(65535, `${flag} must be 0-65535 (0: any free port)`);

const TRENDING_WINDOW_HINT =
  '--trending-window must be <size>/<advance>[/<lateness>], e.g. --trending-window 60s/10s/5s';

/** `60s/10s` or `60s/10s/5s`: size, advance and allowed lateness of trending's hopping windows. */
const trendingWindowSchema = z
  .string()
  .refine((text) => [2, 3].includes(text.split('/').length), TRENDING_WINDOW_HINT)
  .transform((text) => text.split('/'))
  .pipe(z.array(duration('--trending-window')))
  .transform(
    ([sizeMs = 0, advanceMs = 0, allowedLatenessMs]): Partial<TrendingWindow> => ({
      sizeMs,
      advanceMs,
      ...(allowedLatenessMs === undefined ? {} : { allowedLatenessMs }),
    }),
  )
  .refine(
    ({ sizeMs = 0, advanceMs = 0 }) => sizeMs > 0 && advanceMs > 0 && advanceMs <= sizeMs,
    '--trending-window: size and advance must be above 0, and the advance at most the size (e.g. 60s/10s)',
  );

const startOptionsSchema = z.object({
  port: port('--port'),
  gateways: z.coerce
    .number({ error: '--gateways must be a number, e.g. --gateways 2' })
    .int('--gateways must be a whole number')
    .min(1, '--gateways must be 1-16')
    .max(16, '--gateways must be 1-16'),
  adminPort: port('--admin-port'),
  canaryPercent: z.coerce
    .number({ error: '--canary-percent must be a number, e.g. --canary-percent 10' })
    .min(0, '--canary-percent must be 0-100')
    .max(100, '--canary-percent must be 0-100'),
  dataDir: z.string().min(1, '--data-dir must name a folder'),
  memory: z.boolean(),
  kafkaBrokers: z
    .array(
      z.string().regex(/^[^\s:,]+:\d{1,5}$/, '--kafka must be host:port[,host:port…], e.g. --kafka 127.0.0.1:9092'),
    )
    .optional(),
  s3Endpoint: z.url({ error: '--s3-endpoint must be a URL, e.g. --s3-endpoint http://127.0.0.1:9000' }).optional(),
  s3Bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, '--s3-bucket must be 3-63 lower-case letters, digits, dots or dashes')
    .optional(),
  cassandra: z
    .array(
      z
        .string()
        .regex(/^[^\s:,]+:\d{1,5}$/, '--cassandra must be host:port[,host:port…], e.g. --cassandra 127.0.0.1:9042'),
    )
    .optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `--log-level must be one of ${LOG_LEVELS.join(', ')}` }),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, '--redis must be a redis:// URL, e.g. --redis redis://127.0.0.1:6379')
    .optional(),
  traceSample: z.coerce
    .number({ error: '--trace-sample must be a number from 0 to 1, e.g. --trace-sample 0.1' })
    .min(0, '--trace-sample must be 0-1 (0: no tracing)')
    .max(1, '--trace-sample must be 0-1 (1: every request)'),
  trendingWindow: trendingWindowSchema.optional(),
});

/** The services' settings `npm start` takes from the environment (LOG_LEVEL is `--log-level`'s default). */
const httpEnvSchema = serviceEnvSchema.pick({
  CHAOS_TOKEN: true,
  DRAIN_DELAY_MS: true,
  DRAIN_TIMEOUT_MS: true,
  BODY_LIMIT_BYTES: true,
});

/** What `npm start` runs with. */
export type StartOptions = Omit<z.infer<typeof startOptionsSchema>, 'cassandra'> & {
  /** Settings of every microservice and Play API. */
  http: Partial<Omit<ServiceConfig, 'port' | 'host'>>;
  /** Real mode's Cassandra, when `--cassandra` or BACKLOT_CASSANDRA_CONTACT_POINTS names it. */
  cassandra: CassandraOptions | undefined;
};

/** Parses `argv` (after `npm start --`) and the environment; `'help'` when help was asked for. */
export function parseStartOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): StartOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        gateways: { type: 'string' },
        'admin-port': { type: 'string' },
        'canary-percent': { type: 'string' },
        'data-dir': { type: 'string' },
        memory: { type: 'boolean' },
        kafka: { type: 'string' },
        's3-endpoint': { type: 'string' },
        's3-bucket': { type: 'string' },
        cassandra: { type: 'string' },
        'log-level': { type: 'string' },
        redis: { type: 'string' },
        'trace-sample': { type: 'string' },
        'trending-window': { type: 'string' },
      },
    }));
  } catch (error) {
    // node:util's messages are one line already ("Unknown option '--x'. To specify a positional …"): keep the first sentence.
    const first = (error as Error).message.split(/\.\s/)[0] ?? String(error);
    throw new UsageError(`${first}; see npm start -- --help`);
  }
  if (values.help) return 'help';
  const kafka = (values.kafka as string | undefined) ?? env.BACKLOT_KAFKA_BROKERS;
  const s3Endpoint = (values['s3-endpoint'] as string | undefined) ?? env.BACKLOT_S3_ENDPOINT;
  const s3Bucket = (values['s3-bucket'] as string | undefined) ?? env.BACKLOT_S3_BUCKET;
  const cassandraEnv = loadEnv(cassandraEnvSchema, env);
  const cassandra = (values.cassandra as string | undefined) ?? cassandraEnv.BACKLOT_CASSANDRA_CONTACT_POINTS;
  // Real mode (Kafka or S3 given) shares the gateways' rate limits in Redis unless BACKLOT_REDIS=off.
  const realMode = kafka !== undefined || s3Endpoint !== undefined;
  const redisUrl =
    (values.redis as string | undefined) ??
    env.BACKLOT_REDIS_URL ??
    (realMode && env.BACKLOT_REDIS !== 'off' ? `redis://127.0.0.1:${env.BACKLOT_REDIS_PORT ?? '6379'}` : undefined);
  const parsed = startOptionsSchema.safeParse({
    port: values.port ?? env.PORT ?? '8080',
    gateways: values.gateways ?? '2',
    adminPort: values['admin-port'] ?? env.PLAY_ADMIN_PORT ?? '9900',
    canaryPercent: values['canary-percent'] ?? '10',
    dataDir: values['data-dir'] ?? fileURLToPath(new URL('../../.data', import.meta.url)),
    memory: values.memory ?? false,
    kafkaBrokers: kafka?.split(',').map((b) => b.trim()),
    s3Endpoint,
    s3Bucket: s3Bucket ?? (s3Endpoint ? 'play-platform' : undefined),
    cassandra: cassandra?.split(',').map((point) => point.trim()),
    logLevel: values['log-level'] ?? (env.LOG_LEVEL || 'silent'),
    redisUrl,
    traceSample: values['trace-sample'] ?? (env.PLAY_TRACE_SAMPLE || '1'),
    trendingWindow: values['trending-window'],
  });
  if (!parsed.success) {
    const messages = new Set(parsed.error.issues.map((issue) => issue.message));
    throw new UsageError(`${[...messages].join('; ')}; see npm start -- --help`);
  }
  if (parsed.data.memory && values['data-dir'] !== undefined) {
    throw new UsageError('--memory and --data-dir exclude each other: pick one; see npm start -- --help');
  }
  const http = loadEnv(httpEnvSchema, env);
  const contactPoints = parsed.data.cassandra;
  return {
    ...parsed.data,
    cassandra: contactPoints
      ? {
          contactPoints,
          keyspace: cassandraEnv.BACKLOT_CASSANDRA_KEYSPACE,
          localDataCenter: cassandraEnv.BACKLOT_CASSANDRA_DATACENTER,
          consistency: cassandraEnv.BACKLOT_CASSANDRA_CONSISTENCY,
        }
      : undefined,
    http: {
      logLevel: parsed.data.logLevel,
      chaosToken: http.CHAOS_TOKEN,
      drainDelayMs: http.DRAIN_DELAY_MS,
      drainTimeoutMs: http.DRAIN_TIMEOUT_MS,
      bodyLimitBytes: http.BODY_LIMIT_BYTES,
    },
  };
}
