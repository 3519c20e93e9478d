import { z } from 'zod';
import { zstdAvailable } from './zstd.js';

/**
 * What every Kafka transport's producer side takes, whichever client it is
 * built on: where the brokers are, and how batches are compressed, timed,
 * retried and spread over idempotent connections.
 */
export interface KafkaProducerOptions {
  /** Bootstrap brokers, e.g. `['127.0.0.1:9092']` (required). */
  brokers: string[];
  /** Client id sent to the brokers (default `backlot-events`). */
  clientId?: string | undefined;
  /**
   * Batch compression (default `gzip`, which every Kafka client reads).
   * `zstd` compresses the same batches about 5× faster at the same ratio (and
   * the broker decompresses them faster), with Node's own `node:zlib` zstd
   * (Node.js 22.15 or later): choose it when every consumer of the topic reads
   * zstd (the Java client, librdkafka/kcat, Backlot pipelines do; a plain
   * kafkajs consumer needs a zstd codec registered).
   */
  compression?: 'gzip' | 'zstd' | 'none' | undefined;
  /** Connection timeout in ms (default 3000). */
  connectionTimeoutMs?: number | undefined;
  /** Time the broker may take to acknowledge a produce request, in ms (default 30000). */
  requestTimeoutMs?: number | undefined;
  /**
   * Retries the Kafka client makes inside one `send` before it fails and the Backlot
   * producer takes over (its own backoff, buffer and spool) (default 1, the least an
   * idempotent kafkajs producer takes; 2 on `@platformatic/kafka`): the producer owns
   * the retry policy, so an outage shows in `metrics().degraded` and reaches the spool at once.
   */
  sendRetries?: number | undefined;
  /**
   * Idempotent producer connections each transport producer sends through
   * concurrently (default 4). Each partition is written by one of them, in
   * emit order; keys are partitioned as the Java client and kafkajs do (murmur2).
   */
  producerConnections?: number | undefined;
  /**
   * Most bytes (keys and values, before compression) in one produce request
   * (default 1 MiB, Kafka's default `message.max.bytes`): a larger part of a
   * batch goes out as several requests, one after the other, on its connection.
   */
  maxRequestBytes?: number | undefined;
  /**
   * Batches a producer may have in flight at once (default 4): while earlier
   * batches wait for their acknowledgement, later ones are already compressed
   * and sent. Each connection still sends its parts one after the other, so
   * every partition receives batches in emit order; after a failure nothing
   * later overtakes the failed batch (it is sent again first). Up to this many
   * batches (`batch.maxBytes` each) are held in memory beyond `bufferBytes`.
   */
  maxInFlightBatches?: number | undefined;
}

/** Default of {@link KafkaProducerOptions.maxInFlightBatches}. @internal */
export const DEFAULT_IN_FLIGHT_BATCHES = 4;

/** Milliseconds: a positive integer, named in the error. @internal */
export const positiveMs = (field: string) =>
  z
    .number({ error: `${field} must be a number of milliseconds` })
    .int(`${field} must be an integer`)
    .positive(`${field} must be positive`);

/** Validation of {@link KafkaProducerOptions}; transports extend it with their own. @internal */
export const kafkaProducerOptionsSchema = z.object({
  brokers: z
    .array(z.string().min(1), { error: "brokers is required: e.g. ['127.0.0.1:9092']" })
    .min(1, "brokers must list at least one broker, e.g. ['127.0.0.1:9092']"),
  clientId: z.string().min(1, 'clientId must not be empty').optional(),
  compression: z
    .enum(['gzip', 'zstd', 'none'], { error: "compression must be 'gzip', 'zstd' or 'none'" })
    .refine((value) => value !== 'zstd' || zstdAvailable, {
      error: `compression 'zstd' needs Node.js 22.15 or later (node:zlib zstd); this is ${process.version}: use 'gzip'`,
    })
    .optional(),
  connectionTimeoutMs: positiveMs('connectionTimeoutMs').optional(),
  requestTimeoutMs: positiveMs('requestTimeoutMs').optional(),
  sendRetries: z.number().int().min(0, 'sendRetries must be 0 or more').optional(),
  producerConnections: z
    .number({ error: 'producerConnections must be a number of connections, e.g. 4' })
    .int('producerConnections must be an integer')
    .min(1, 'producerConnections must be 1 or more')
    .max(64, 'producerConnections must be 64 or fewer')
    .optional(),
  maxRequestBytes: z
    .number({ error: 'maxRequestBytes must be a number of bytes, e.g. 1048576' })
    .int('maxRequestBytes must be an integer')
    .positive('maxRequestBytes must be positive')
    .optional(),
  maxInFlightBatches: z
    .number({ error: 'maxInFlightBatches must be a number of batches, e.g. 4' })
    .int('maxInFlightBatches must be an integer')
    .min(1, 'maxInFlightBatches must be 1 or more (1: one batch at a time)')
    .max(64, 'maxInFlightBatches must be 64 or fewer')
    .optional(),
});
