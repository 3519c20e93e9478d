import { z } from 'zod';
import type { OutgoingMessage, Transport, TransportProducer } from '../../transport/types.js';
import { type EventsLogger, loggerSchema, optionsError, silentLogger } from '../../util/logger.js';
import type { Sink } from '../types.js';

/** Options of {@link topicSink}. */
export interface TopicSinkOptions<T> {
  /** The transport to write through, e.g. `kafkaTransport({ brokers })` (required). */
  transport: Transport;
  /** Destination topic (required). */
  topic: string;
  /** Key of each message (default: none). */
  key?: ((value: T) => string | null) | undefined;
  /** Message value (default: JSON). */
  serialize?: ((value: T) => Buffer | string) | undefined;
  /** Messages per send (default 5,000). */
  batchSize?: number | undefined;
  /**
   * Where records the broker refuses for good (too large, invalid) are logged,
   * one line per send; they are skipped so the pipeline goes on (default: nowhere).
   */
  logger?: EventsLogger | undefined;
}

const optionsSchema = z.object({
  transport: z.custom<Transport>(
    (value) => typeof (value as { producer?: unknown } | undefined)?.producer === 'function',
    'transport is required: e.g. kafkaTransport({ brokers })',
  ),
  topic: z.string({ error: 'topic is required: the destination topic' }).min(1, 'topic must not be empty'),
  key: z.custom<(value: unknown) => string | null>((v) => typeof v === 'function', 'key must be a function').optional(),
  serialize: z
    .custom<(value: unknown) => Buffer>((v) => typeof v === 'function', 'serialize must be a function')
    .optional(),
  batchSize: z.number().int().positive('batchSize must be a positive integer').optional(),
  logger: loggerSchema.optional(),
});

/**
 * A sink that writes records to a topic (Kafka or the embedded log), e.g. the
 * output of one pipeline stage as the input of the next.
 *
 * @example
 * ```ts
 * trending.to(topicSink({ transport, topic: 'trending', key: (w) => w.key }));
 * ```
 */
export function topicSink<T>(options: TopicSinkOptions<T>): Sink<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('topicSink', parsed.error);
  const serialize = options.serialize ?? ((value: T) => JSON.stringify(value));
  const batchSize = options.batchSize ?? 5000;
  let producer: TransportProducer | undefined;
  let buffered: OutgoingMessage[] = [];
  return {
    name: `topic:${options.topic}`,
    write(value) {
      const raw = serialize(value);
      buffered.push({
        key: options.key?.(value) ?? null,
        value: typeof raw === 'string' ? Buffer.from(raw) : raw,
        timestamp: Date.now(),
      });
    },
    needsFlush: () => buffered.length >= batchSize,
    async flush() {
      if (buffered.length === 0) return;
      producer ??= options.transport.producer();
      const messages = buffered;
      buffered = [];
      try {
        for (let i = 0; i < messages.length; i += batchSize) {
          const report = await producer.send(options.topic, messages.slice(i, i + batchSize));
          const first = report?.rejected[0];
          if (first) {
            (options.logger ?? silentLogger).error(
              { topic: options.topic, refused: report.rejected.length, code: first.code, reason: first.reason },
              'topicSink: broker refused record(s) for good; skipped',
            );
          }
        }
      } catch (error) {
        buffered = messages.concat(buffered);
        throw error;
      }
    },
    async close() {
      await producer?.close();
    },
  };
}
