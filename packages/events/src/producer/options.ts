import { z } from 'zod';
import type { AnyEventEnvelope, EventCatalog, EventDefinitions } from '../catalog/define-catalog.js';
import { type ProducerRegistryOptions, producerRegistrySchema } from '../registry/options.js';
import type { DeadLetter } from '../spool/dead-letter.js';
import type { Transport } from '../transport/types.js';
import { type EventsLogger, loggerSchema } from '../util/logger.js';

/** Batching of the producer: a batch is sent when it is full or has waited `lingerMs`. */
export interface BatchOptions {
  /** Most events in one batch (default 10,000). */
  maxEvents?: number | undefined;
  /** Most bytes (encoded events) in one batch (default 1 MiB). */
  maxBytes?: number | undefined;
  /** How long the first event of a batch may wait for company, in ms (default 5). */
  lingerMs?: number | undefined;
}

/** The durable local spool: where events go when the memory buffer is full, and on `close()` when the broker is away. */
export interface SpoolOptions {
  /** Directory of the spool (default `.backlot/spool/<source>` under the working directory). One producer per directory. */
  dir?: string | undefined;
  /** Most bytes the spool holds before the `overflow` policy applies (default 1 GiB). */
  maxBytes?: number | undefined;
  /** Size at which a segment file is closed and a new one started (default 16 MiB). */
  segmentBytes?: number | undefined;
  /** fsync every write (default `false`: survives a process crash; with `true`, a machine crash too, much slower). */
  fsync?: boolean | undefined;
  /**
   * `overflow` (default): events go through memory and reach the spool only when
   * the buffer is full or the broker is away; a process crash loses at most the
   * memory buffer. `write-through`: every event is written to the spool before
   * `emit` returns, so a process crash loses nothing that was emitted.
   */
  mode?: 'overflow' | 'write-through' | undefined;
}

/** Delays between attempts to send a batch that failed (the batch is kept and retried, in order, forever). */
export interface RetryOptions {
  /** First delay in ms (default 100). */
  initialDelayMs?: number | undefined;
  /** Longest delay in ms (default 5000). */
  maxDelayMs?: number | undefined;
}

/**
 * The dead-letter topic: where events the broker refused for good (poison:
 * too large, invalid, topic missing or not authorised) are written, with
 * headers saying why (`backlot-dead-letter-code`, `-reason`, `-topic`, `-at`).
 * The producer creates it at start unless it exists.
 */
export interface DeadLetterTopicOptions {
  /** The dead-letter topic's name, e.g. `events.dead-letter` (required). */
  topic: string;
  /** Partitions when the producer creates it (default 1: dead letters are rare and read in order). */
  partitions?: number | undefined;
  /** Retention (`retention.ms`) when the producer creates it, in ms (default 14 days). */
  retentionMs?: number | undefined;
  /**
   * Largest record it accepts (`max.message.bytes`) when the producer creates it, in bytes
   * (default 8 MiB: larger than a topic's usual limit, so an event refused as too large fits).
   */
  maxMessageBytes?: number | undefined;
}

/** Per-call options of `emit`. */
export interface EmitOptions {
  /** Partitioning key (default: the producer's `key` function). */
  key?: string | undefined;
  /** Trace or request id (default: the producer's `traceId` function). */
  traceId?: string | undefined;
  /** Event id (default: a random UUID): re-emit with the same id and consumers de-duplicate. */
  id?: string | undefined;
  /** Event time (default: now). */
  time?: Date | undefined;
}

/** Options of {@link createEventProducer}. */
export interface EventProducerOptions<Defs extends EventDefinitions> {
  /** The catalogue of events this producer may emit (required). */
  catalog: EventCatalog<Defs>;
  /** Name of the emitting service, put in every envelope (required). */
  source: string;
  /** Where events go (default: `embeddedLogTransport({ dir: '.backlot/log' })`). */
  transport?: Transport | undefined;
  /** Topic of every event, or a function choosing it per event (default `events`). */
  topic?: string | ((event: AnyEventEnvelope<Defs>) => string) | undefined;
  /** Partitioning key per event, e.g. `(e) => e.payload.profileId` (default: none; events spread over partitions). */
  key?: ((event: AnyEventEnvelope<Defs>) => string | undefined) | undefined;
  /** The trace/request id in scope, e.g. from AsyncLocalStorage (default: none). */
  traceId?: (() => string | undefined) | undefined;
  /** Batching (defaults: 10,000 events, 1 MiB, 5 ms linger). */
  batch?: BatchOptions | undefined;
  /** Bytes of events held in memory before they go to the spool (default 32 MiB). */
  bufferBytes?: number | undefined;
  /** The durable local spool, or `false` for none (default: enabled, see {@link SpoolOptions}). */
  spool?: SpoolOptions | false | undefined;
  /**
   * What happens when memory and spool are both full: `block` (default) keeps
   * the event in memory beyond the bounds and `emit` returns `false` (await
   * `ready()` before emitting more); `drop` discards it, counts it in
   * `metrics().dropped` and logs it.
   */
  overflow?: 'block' | 'drop' | undefined;
  /** Backoff between attempts of a failed batch. */
  retry?: RetryOptions | undefined;
  /**
   * Where events the broker refused for good go (default: none). Without it they go
   * to the spool's dead-letter file (see `readDeadLetters`); see `onDeadLetter`.
   */
  deadLetter?: DeadLetterTopicOptions | undefined;
  /**
   * Called with every group of events the broker refused for good, wherever else
   * they are kept. Without a dead-letter topic, a spool or this callback, `flush()`
   * rejects with an `EventsRefusedError` holding them: refused events are never only logged.
   */
  onDeadLetter?: ((letters: readonly DeadLetter[]) => void) | undefined;
  /** How long `close()` tries to deliver before it spools what is left, in ms (default 10,000). */
  closeTimeoutMs?: number | undefined;
  /**
   * How long a send may stay unanswered before the producer counts the broker as hung, in ms
   * (default 3000): `metrics().degraded` turns true, events in memory go to the spool and new
   * ones follow them there (crash-safe), and `close()` no longer waits for the broker. The
   * send itself is not given up: it keeps waiting for the transport's `requestTimeoutMs`, and
   * an answer that comes late is taken (nothing is sent twice). Below the transport's request
   * timeout to be of use.
   */
  degradedAfterMs?: number | undefined;
  /** Where losses, outages and recoveries are logged (pino-compatible; default: nowhere). */
  logger?: EventsLogger | undefined;
  /**
   * Registry mode (default: off, records are plain JSON envelopes): records go out in the
   * Confluent wire format with the schema id of the event's JSON Schema, registered in a
   * Confluent-compatible schema registry; see {@link ProducerRegistryOptions}. Events wait in
   * memory and spool unframed and are framed when sent, so a registry outage delays them like
   * a broker outage and loses none.
   */
  registry?: ProducerRegistryOptions | undefined;
}

const fn = (message: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', message);

const positive = (field: string, what: string) =>
  z
    .number({ error: `${field} must be ${what}` })
    .int(`${field} must be an integer`)
    .positive(`${field} must be positive`);

/** @internal */
export const producerOptionsSchema = z.object({
  catalog: z.custom<EventCatalog<EventDefinitions>>(
    (value) => typeof (value as { envelope?: unknown } | undefined)?.envelope === 'function',
    'catalog is required: the result of defineEventCatalog({ … })',
  ),
  source: z
    .string({ error: "source is required: the emitting service's name, e.g. 'play-api'" })
    .min(1, 'source must not be empty'),
  transport: z
    .custom<Transport>(
      (value) => typeof (value as { producer?: unknown } | undefined)?.producer === 'function',
      'transport must be a Transport such as kafkaTransport({ brokers }) or embeddedLogTransport({ dir })',
    )
    .optional(),
  topic: z
    .union([z.string().min(1, 'topic must not be empty'), fn('')], {
      error: "topic must be a topic name such as 'events' or a function (event) => topic",
    })
    .optional(),
  key: fn('key must be a function (event) => key, e.g. (e) => e.payload.profileId').optional(),
  traceId: fn('traceId must be a function () => string | undefined').optional(),
  batch: z
    .object({
      maxEvents: positive('batch.maxEvents', 'a number of events').optional(),
      maxBytes: positive('batch.maxBytes', 'a number of bytes').optional(),
      lingerMs: z.number().int().min(0, 'batch.lingerMs must be 0 or more ms').optional(),
    })
    .optional(),
  bufferBytes: positive('bufferBytes', 'a number of bytes').optional(),
  spool: z
    .union([
      z.literal(false),
      z.object({
        dir: z.string().min(1, 'spool.dir must not be empty').optional(),
        maxBytes: positive('spool.maxBytes', 'a number of bytes').optional(),
        segmentBytes: positive('spool.segmentBytes', 'a number of bytes').optional(),
        fsync: z.boolean({ error: 'spool.fsync must be true or false' }).optional(),
        mode: z
          .enum(['overflow', 'write-through'], { error: "spool.mode must be 'overflow' or 'write-through'" })
          .optional(),
      }),
    ])
    .optional(),
  overflow: z.enum(['block', 'drop'], { error: "overflow must be 'block' or 'drop'" }).optional(),
  retry: z
    .object({
      initialDelayMs: positive('retry.initialDelayMs', 'a number of ms').optional(),
      maxDelayMs: positive('retry.maxDelayMs', 'a number of ms').optional(),
    })
    .optional(),
  deadLetter: z
    .object(
      {
        topic: z
          .string({ error: "deadLetter.topic must be a topic name, e.g. 'events.dead-letter'" })
          .min(1, 'deadLetter.topic must not be empty'),
        partitions: positive('deadLetter.partitions', 'a number of partitions').optional(),
        retentionMs: positive('deadLetter.retentionMs', 'a number of ms').optional(),
        maxMessageBytes: positive('deadLetter.maxMessageBytes', 'a number of bytes').optional(),
      },
      { error: "deadLetter must be an object such as { topic: 'events.dead-letter' }" },
    )
    .optional(),
  onDeadLetter: fn('onDeadLetter must be a function (letters) => void').optional(),
  closeTimeoutMs: z.number().int().min(0, 'closeTimeoutMs must be 0 or more ms').optional(),
  degradedAfterMs: positive('degradedAfterMs', 'a number of ms, e.g. 3000').optional(),
  logger: loggerSchema.optional(),
  registry: producerRegistrySchema.optional(),
});
