import { z } from 'zod';
import type { OutgoingMessage } from '../../transport/types.js';
import { optionsError } from '../../util/logger.js';
import type { TransactionalSink } from '../types.js';

/** Options of {@link exactlyOnceTopicSink}. */
export interface ExactlyOnceTopicSinkOptions<T> {
  /** Destination Kafka topic (required). Create it beforehand (`ensureTopics`). */
  topic: string;
  /** Key of each message (default: none). */
  key?: ((value: T) => string | null) | undefined;
  /** Message value (default: JSON). */
  serialize?: ((value: T) => Buffer | string) | undefined;
}

const optionsSchema = z.object({
  topic: z.string({ error: 'topic is required: the destination topic' }).min(1, 'topic must not be empty'),
  key: z.custom<(value: unknown) => string | null>((v) => typeof v === 'function', 'key must be a function').optional(),
  serialize: z
    .custom<(value: unknown) => Buffer>((v) => typeof v === 'function', 'serialize must be a function')
    .optional(),
});

/**
 * A Kafka topic sink with exactly-once delivery: the pipeline writes its
 * records in each source partition's checkpoint transaction, together with the
 * window-state changes and the consumer offset (Kafka Streams'
 * `exactly_once`). Readers with `isolation.level=read_committed` (kafkajs's
 * default, `readUncommitted: false`) see each result once, even when a member
 * is killed mid-way. Needs a pipeline with `checkpoints: kafkaCheckpoints(…)`
 * on the same cluster.
 *
 * @example
 * ```ts
 * trending.to(exactlyOnceTopicSink({ topic: 'trending', key: (w) => w.key }));
 * ```
 */
export function exactlyOnceTopicSink<T>(options: ExactlyOnceTopicSinkOptions<T>): TransactionalSink<T> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('exactlyOnceTopicSink', parsed.error);
  const serialize = options.serialize ?? ((value: T) => JSON.stringify(value));
  const buffers = new Map<string, OutgoingMessage[]>();
  const id = (topic: string, partition: number) => `${topic}\u0000${partition}`;
  return {
    name: `exactly-once-topic:${options.topic}`,
    write(value, position) {
      const raw = serialize(value);
      const tp = id(position.topic, position.partition);
      let buffer = buffers.get(tp);
      if (!buffer) {
        buffer = [];
        buffers.set(tp, buffer);
      }
      buffer.push({
        key: options.key?.(value) ?? null,
        value: typeof raw === 'string' ? Buffer.from(raw) : raw,
        timestamp: Date.now(),
      });
    },
    // Written by the pipeline's checkpoint transactions, not here.
    async flush() {},
    transactional: {
      topic: options.topic,
      take(topic, partition) {
        const tp = id(topic, partition);
        const taken = buffers.get(tp) ?? [];
        buffers.delete(tp);
        return taken;
      },
      putBack(topic, partition, messages) {
        const tp = id(topic, partition);
        buffers.set(tp, messages.concat(buffers.get(tp) ?? []));
      },
      drop(topic, partition) {
        buffers.delete(id(topic, partition));
      },
    },
  };
}
