/**
 * Where the integration tests find the real services, with the defaults that
 * `scripts/services.sh up` uses. One place, so every test agrees.
 */
export interface ServiceEnv {
  /** Kafka bootstrap brokers, `BACKLOT_KAFKA_BROKERS` (comma-separated). */
  kafkaBrokers: string[];
  /** S3-compatible endpoint and credentials, `BACKLOT_S3_*`. */
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** Redis URL, `BACKLOT_REDIS_URL` (default: the port `scripts/services/redis.sh` uses, `BACKLOT_REDIS_PORT` or 6379). */
  redisUrl: string;
  /**
   * Apicurio Registry's Confluent-compatible API, `BACKLOT_REGISTRY_URL` (default: the port
   * `scripts/services/registry.sh` uses, `BACKLOT_REGISTRY_PORT` or 8081, with `/apis/ccompat/v7`).
   */
  registryUrl: string;
}

export function serviceEnv(env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  return {
    kafkaBrokers: (env.BACKLOT_KAFKA_BROKERS ?? `127.0.0.1:${env.BACKLOT_KAFKA_PORT ?? '9092'}`)
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    s3: {
      endpoint: env.BACKLOT_S3_ENDPOINT ?? `http://127.0.0.1:${env.BACKLOT_S3_PORT ?? '9000'}`,
      region: env.BACKLOT_S3_REGION ?? 'us-east-1',
      accessKeyId: env.BACKLOT_S3_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: env.BACKLOT_S3_SECRET_ACCESS_KEY ?? 'test',
    },
    redisUrl: env.BACKLOT_REDIS_URL ?? `redis://127.0.0.1:${env.BACKLOT_REDIS_PORT ?? '6379'}`,
    registryUrl: env.BACKLOT_REGISTRY_URL ?? `http://127.0.0.1:${env.BACKLOT_REGISTRY_PORT ?? '8081'}/apis/ccompat/v7`,
  };
}
