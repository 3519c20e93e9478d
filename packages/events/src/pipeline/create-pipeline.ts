import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { LatencyHistogram } from '@backlot/metrics-core';
import { z } from 'zod';
import type {
  AnyEventEnvelope,
  EventCatalog,
  EventDefinitions,
  EventEnvelope,
  EventPayload,
} from '../catalog/define-catalog.js';
import { PIPELINE_DEAD_LETTER_CHANNEL, type PipelineDeadLetterMessage } from '../diagnostics/channels.js';
import { ClosedError } from '../errors.js';
import { livePipelines, type PipelineSample } from '../metrics/prometheus/live.js';
import { DEAD_LETTER_HEADERS } from '../producer/dead-letters.js';
import { RegistryDecoder } from '../registry/decoder.js';
import { isRegistryError } from '../registry/errors.js';
import { type PipelineRegistryOptions, pipelineRegistrySchema } from '../registry/options.js';
import type { RecordPosition } from '../sinks/types.js';
import type { CheckpointStore } from '../state/types.js';
import { type ProcessNote, traceBatch, traceProcess } from '../tracing/process-span.js';
import { embeddedLogTransport } from '../transport/embedded-log/embedded-log-transport.js';
import type {
  ConsumedBatch,
  ConsumedMessage,
  OutgoingMessage,
  PartitionOffset,
  Transport,
  TransportConsumer,
  TransportProducer,
} from '../transport/types.js';
import { type EventsLogger, loggerSchema, optionsError, silentLogger } from '../util/logger.js';
import {
  Checkpointing,
  exactlyOnceWithoutCheckpoints,
  isTransactional,
  type PartitionStateMetrics,
} from './checkpointing.js';
import { describeFailure } from './dead-letter-record.js';
import { type Graph, type Stream, StreamNode } from './stream.js';

/** Options of {@link createPipeline}. */
export interface PipelineOptions<Defs extends EventDefinitions> {
  /** The catalogue that decodes and validates consumed events (required). */
  catalog: EventCatalog<Defs>;
  /** Consumer group: members share the partitions, and committed offsets are kept per group (required). */
  groupId: string;
  /** Where events come from (default: `embeddedLogTransport({ dir: '.backlot/log' })`, as the producer's default). */
  transport?: Transport | undefined;
  /** Topics to consume (default `['events']`). */
  topics?: string[] | undefined;
  /** Start a new group at the oldest event rather than the newest (default `true`). */
  fromBeginning?: boolean | undefined;
  /** Topic for events that cannot be decoded or whose processing throws, or `false` to stop on them instead (default `<first topic>.dead-letter`). */
  deadLetterTopic?: string | false | undefined;
  /** Longest time between sink flushes + offset commits (checkpoints) while events flow, in ms (default 1000). */
  commitIntervalMs?: number | undefined;
  /**
   * Where window state is checkpointed, e.g. `kafkaCheckpoints({ brokers })`.
   * With it, windows are kept per source partition, their state is written
   * to a compacted changelog and committed with the offsets every
   * `commitIntervalMs` in one transaction, and restored when a partition is
   * assigned: a crash replays at most one commit interval, never a window.
   * Without it, offsets are held back until the oldest open window closes.
   */
  checkpoints?: CheckpointStore | undefined;
  /** Where dead letters, failures and state changes are logged (pino-compatible; default: nowhere). */
  logger?: EventsLogger | undefined;
  /**
   * Registry mode (default: off): records in the Confluent wire format (magic byte 0, schema id,
   * JSON payload, envelope in headers) are read by their schema id; plain JSON envelopes are
   * still read, so a topic can migrate. A record whose schema id the registry does not know, or
   * whose frame is truncated, is dead-lettered with its code; while the registry is unreachable
   * the batch fails and is consumed again (never dead-lettered). See {@link PipelineRegistryOptions}.
   */
  registry?: PipelineRegistryOptions | undefined;
}

/** Counters of a pipeline; see {@link Pipeline.metrics}. */
export interface PipelineMetrics {
  /** Messages consumed. */
  consumed: number;
  /** Events processed by the graph without error. */
  processed: number;
  /** Messages sent to the dead-letter topic. */
  deadLettered: number;
  /** Events dropped because they arrived after their window closed (plus its allowed lateness). */
  late: number;
  /**
   * Events consumed again after a restart whose window was already emitted
   * before it (the commit keeps each window operator's watermark): skipped,
   * so a window is never emitted again with part of its events.
   */
  alreadyEmitted: number;
  /** Times the sinks were flushed (each followed by an offset commit). */
  sinkFlushes: number;
  /** Offset commits. */
  commits: number;
  /** Messages waiting in the consumed partitions, as last reported by the transport. */
  lag: number;
  /** Event time to processing latency percentiles in ms (end-to-end from `emit`). */
  latencyMs: { p50: number; p99: number; max: number };
  /** With checkpoints: checkpoints committed (one per partition with progress each interval). */
  checkpoints: number;
  /** With checkpoints: checkpoints that failed (retried at the next interval) or found the partition taken over. */
  checkpointFailures: number;
  /** With checkpoints: messages consumed again after a restart whose effect was already in the restored state, skipped. */
  alreadyCheckpointed: number;
  /** With checkpoints: each owned partition's lag, state size, restore time and last checkpoint. */
  partitions: PartitionStateMetrics[];
}

/** A Keystone-style stream-processing pipeline; see {@link createPipeline}. */
export interface Pipeline<Defs extends EventDefinitions> {
  /** The stream of every consumed event, typed by the catalogue. */
  events(): Stream<AnyEventEnvelope<Defs>>;
  /** The stream of one event type: route by type by calling this once per type. */
  events<Name extends keyof Defs & string>(name: Name): Stream<EventEnvelope<Name, EventPayload<Defs, Name>>>;
  /** Joins the consumer group and processes events in the background until `close()`. */
  start(): Promise<void>;
  /** Flushes every sink and then commits the offsets processed so far (and not held by open windows). */
  commit(): Promise<void>;
  /** Processes nothing more, flushes sinks, commits, leaves the group and closes sinks. */
  close(): Promise<void>;
  /** A snapshot of the counters. */
  metrics(): PipelineMetrics;
}

const optionsSchema = z.object({
  catalog: z.custom<EventCatalog<EventDefinitions>>(
    (value) => typeof (value as { decode?: unknown } | undefined)?.decode === 'function',
    'catalog is required: the result of defineEventCatalog({ … })',
  ),
  groupId: z.string({ error: "groupId is required: e.g. 'trending-titles'" }).min(1, 'groupId must not be empty'),
  transport: z
    .custom<Transport>(
      (value) => typeof (value as { consumer?: unknown } | undefined)?.consumer === 'function',
      'transport must be a Transport such as kafkaTransport({ brokers }) or embeddedLogTransport({ dir })',
    )
    .optional(),
  topics: z.array(z.string().min(1)).min(1, "topics must list at least one topic, e.g. ['events']").optional(),
  fromBeginning: z.boolean({ error: 'fromBeginning must be true or false' }).optional(),
  deadLetterTopic: z
    .union([z.literal(false), z.string().min(1)], { error: 'deadLetterTopic must be a topic name or false' })
    .optional(),
  commitIntervalMs: z.number().int().positive('commitIntervalMs must be a positive number of ms').optional(),
  checkpoints: z
    .custom<CheckpointStore>(
      (value) => typeof (value as { commit?: unknown } | undefined)?.commit === 'function',
      'checkpoints must be a CheckpointStore such as kafkaCheckpoints({ brokers })',
    )
    .optional(),
  logger: loggerSchema.optional(),
  registry: pipelineRegistrySchema.optional(),
});

/**
 * Creates a stream-processing pipeline over a consumer group: decode and
 * validate each event, run the user's processors (filter, map, route by event
 * type, windowed aggregation), write to sinks, and commit source offsets only
 * after every sink has durably written — at-least-once delivery. Events that
 * cannot be decoded, or whose processing throws, go to a dead-letter topic.
 *
 * @example
 * ```ts
 * const pipeline = createPipeline({ catalog: events, transport, groupId: 'trending' });
 * pipeline
 *   .events('play.started')
 *   .window({ sizeMs: 60_000, key: (e) => `${e.payload.country}/${e.payload.titleId}`, init: () => 0, add: (n) => n + 1 })
 *   .to(objectStoreSink({ store, prefix: 'trending/' }));
 * await pipeline.start();
 * ```
 */
export function createPipeline<const Defs extends EventDefinitions>(options: PipelineOptions<Defs>): Pipeline<Defs> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('createPipeline', parsed.error);
  return new PipelineRuntime<Defs>(options);
}

const deadLetterChannel = channel(PIPELINE_DEAD_LETTER_CHANNEL);

/** True when `bytes` read as UTF-8 and back are the same bytes. */
function isText(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/** Marks Backlot's offset-commit metadata (window watermarks), so others' is left alone. */
const METADATA_PREFIX = 'backlot.windows/v2 ';

class PipelineRuntime<Defs extends EventDefinitions> implements Pipeline<Defs> {
  readonly #options: PipelineOptions<Defs>;
  readonly #logger: EventsLogger;
  readonly #transport: Transport;
  readonly #topics: string[];
  readonly #deadLetterTopic: string | false;
  readonly #graph: Graph;
  readonly #checkpointing: Checkpointing | undefined;
  readonly #root: StreamNode<AnyEventEnvelope<Defs>>;
  /** Registry mode: reads wire-format records back into envelopes. */
  readonly #registry: RegistryDecoder | undefined;
  readonly #latency = new LatencyHistogram();
  readonly #counts = { consumed: 0, processed: 0, deadLettered: 0, sinkFlushes: 0, commits: 0 };
  /** Next offset to commit per `topic\u0000partition`, once sinks flushed. */
  readonly #processed = new Map<string, bigint>();
  readonly #committed = new Map<string, bigint>();
  readonly #lag = new Map<string, number>();
  #deadLetters: OutgoingMessage[] = [];
  #consumer: TransportConsumer | undefined;
  #dlqProducer: TransportProducer | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #lastCommit = Date.now();
  /** Messages handled since the last look at the clock (checked every 256). */
  #sinceCheck = 0;
  /** The window watermarks last committed (offset-commit metadata). */
  #committedMetadata: string | undefined;
  /** Restoring window state of newly assigned partitions: batches wait for it. */
  #restoring: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;

  constructor(options: PipelineOptions<Defs>) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#transport = options.transport ?? embeddedLogTransport({ dir: join(process.cwd(), '.backlot', 'log') });
    this.#topics = options.topics ?? ['events'];
    this.#deadLetterTopic =
      options.deadLetterTopic === undefined ? `${this.#topics[0] as string}.dead-letter` : options.deadLetterTopic;
    this.#graph = { sinks: [], windows: [], partitioned: options.checkpoints ? [] : undefined };
    this.#checkpointing = options.checkpoints
      ? new Checkpointing(options.checkpoints, this.#graph.partitioned ?? [], this.#graph.sinks, this.#logger)
      : undefined;
    this.#root = new StreamNode(this.#graph);
    this.#registry = options.registry ? new RegistryDecoder(options.registry.client) : undefined;
    livePipelines.add(this);
  }

  events(): Stream<AnyEventEnvelope<Defs>>;
  events<Name extends keyof Defs & string>(name: Name): Stream<EventEnvelope<Name, EventPayload<Defs, Name>>>;
  events(name?: string): Stream<unknown> {
    if (name === undefined) return this.#root;
    if (!this.#options.catalog.names.includes(name)) {
      throw new TypeError(
        `pipeline.events('${name}'): not in the catalogue (${this.#options.catalog.names.join(', ')})`,
      );
    }
    return this.#root.filter((event) => event.name === name);
  }

  async start(): Promise<void> {
    if (this.#closed) throw new ClosedError('pipeline');
    if (this.#started) return;
    this.#started = true;
    const checkpointing = this.#checkpointing;
    const exactlyOnce = this.#graph.sinks.find(isTransactional);
    if (exactlyOnce && !checkpointing) throw exactlyOnceWithoutCheckpoints(exactlyOnce.name);
    await this.#options.checkpoints?.prepare({
      groupId: this.#options.groupId,
      topics: this.#topics,
      deadLetterTopic: this.#deadLetterTopic === false ? undefined : this.#deadLetterTopic,
      transport: this.#transport.name,
    });
    this.#consumer = this.#transport.consumer({ groupId: this.#options.groupId });
    await this.#consumer.run({
      topics: this.#topics,
      fromBeginning: this.#options.fromBeginning ?? true,
      handler: (batch) =>
        this.#exclusive(async () => {
          // Checkpointed state of newly assigned partitions is read back before any of their events.
          await checkpointing?.sync(this.#processed, () => this.#flushOutputs());
          await this.#restoring;
          await traceBatch(this.#options.groupId, batch, () => this.#handle(batch));
        }),
      onAssign: (partitions) => {
        if (checkpointing) {
          checkpointing.assigned(partitions);
          // Restore now, not at the first event or commit (a failure is retried by the next batch).
          void this.#exclusive(() => checkpointing.sync(this.#processed, () => this.#flushOutputs())).catch(
            (error: unknown) =>
              this.#logger.warn({ err: error }, 'pipeline: restoring assigned partitions failed; will retry'),
          );
          return;
        }
        for (const window of this.#graph.windows) window.assign(partitions);
        const previous = this.#restoring;
        this.#restoring = previous.then(() => this.#restoreWindows(partitions));
      },
    });
    const interval = this.#options.commitIntervalMs ?? 1000;
    // Idle flushes: sinks rotate by age, and offsets get committed, even when no events arrive.
    this.#timer = setInterval(() => {
      void this.#exclusive(async () => {
        if (this.#closed) return;
        if (this.#dirty() || this.#graph.sinks.some((sink) => sink.needsFlush?.())) await this.#commit();
      }).catch((error: unknown) => this.#logger.warn({ err: error }, 'pipeline: periodic commit failed; will retry'));
    }, interval);
    this.#timer.unref();
    this.#logger.info({ groupId: this.#options.groupId, topics: this.#topics }, 'pipeline: started');
  }

  commit(): Promise<void> {
    return this.#exclusive(() => this.#commit());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    livePipelines.delete(this);
    if (this.#timer) clearInterval(this.#timer);
    // Batches arriving from now on are skipped (not committed: consumed again next time).
    try {
      await this.#exclusive(() => this.#commit());
    } finally {
      // A failed final commit (consumed again next time) still releases every connection.
      await this.#consumer?.close();
      for (const sink of this.#graph.sinks) await sink.close?.();
      await this.#dlqProducer?.close();
      await this.#checkpointing?.close();
    }
  }

  /** @internal read by `registerPrometheusMetrics` collectors at scrape time. */
  prometheusSample(): PipelineSample {
    const lag: PipelineSample['lag'] = [];
    for (const [tp, n] of this.#lag) {
      const cut = tp.lastIndexOf('\u0000');
      lag.push({ topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)), lag: n });
    }
    const checkpointing = this.#checkpointing;
    return {
      pipeline: this.#options.groupId,
      consumed: this.#counts.consumed,
      deadLettered: this.#counts.deadLettered,
      lag,
      checkpoints: checkpointing && {
        total: checkpointing.checkpoints,
        partitions: checkpointing.metrics(this.#lag).map((p) => ({
          topic: p.topic,
          partition: p.partition,
          bytes: p.stateBytes,
          restoreSeconds: p.restoreMs / 1000,
          lastCheckpointSeconds: p.lastCheckpointAt === undefined ? undefined : p.lastCheckpointAt / 1000,
        })),
      },
    };
  }

  metrics(): PipelineMetrics {
    return {
      ...this.#counts,
      late: this.#graph.windows.reduce((sum, window) => sum + window.late, 0),
      alreadyEmitted: this.#graph.windows.reduce((sum, window) => sum + window.alreadyEmitted, 0),
      lag: [...this.#lag.values()].reduce((sum, lag) => sum + lag, 0),
      checkpoints: this.#checkpointing?.checkpoints ?? 0,
      checkpointFailures: this.#checkpointing?.failures ?? 0,
      alreadyCheckpointed: this.#checkpointing?.skipped ?? 0,
      partitions: this.#checkpointing?.metrics(this.#lag) ?? [],
      latencyMs: {
        p50: this.#latency.percentileMs(50),
        p99: this.#latency.percentileMs(99),
        max: this.#latency.percentileMs(100),
      },
    };
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #handle(batch: ConsumedBatch): Promise<void> {
    if (this.#closed) return;
    const tp = `${batch.topic}\u0000${batch.partition}`;
    const checkpointing = this.#checkpointing;
    for (const message of batch.messages) {
      // A rebalance may hand a kept partition back from its last checkpoint: offsets this member already processed are skipped.
      if (
        checkpointing &&
        !checkpointing.accepts(message.topic, message.partition, message.offset, this.#processed.get(tp))
      )
        continue;
      this.#counts.consumed++;
      await traceProcess(this.#options.groupId, message, (note) => this.#process(message, note));
      this.#processed.set(tp, BigInt(message.offset) + 1n);
      // A large batch is checkpointed as it goes, so a crash replays one commit interval, not the batch.
      if (checkpointing && ++this.#sinceCheck >= 256) {
        this.#sinceCheck = 0;
        if (Date.now() - this.#lastCommit >= (this.#options.commitIntervalMs ?? 1000)) await this.#commit();
      }
    }
    if (batch.lag !== undefined) this.#lag.set(tp, batch.lag);
    const due = Date.now() - this.#lastCommit >= (this.#options.commitIntervalMs ?? 1000);
    if (due || this.#graph.sinks.some((sink) => sink.needsFlush?.())) await this.#commit();
  }

  async #process(message: ConsumedMessage, note: ProcessNote): Promise<void> {
    let event: AnyEventEnvelope<Defs>;
    try {
      const bytes = this.#registry ? await this.#registry.envelope(message) : (message.value ?? '');
      event = this.#options.catalog.decode(bytes);
    } catch (error) {
      // The registry is unreachable: the record is fine, so the batch fails and is consumed again.
      if (isRegistryError(error) && error.retryable) throw error;
      note.deadLettered = { stage: 'decode', error };
      this.#deadLetter(message, 'decode', error);
      return;
    }
    note.event = event;
    const eventTime = Date.parse(event.time);
    this.#latency.recordMs(Date.now() - eventTime);
    const position: RecordPosition = {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      eventTime,
    };
    try {
      await this.#root.push(event, position);
      this.#counts.processed++;
    } catch (error) {
      note.deadLettered = { stage: 'process', error };
      this.#deadLetter(message, 'process', error);
    }
  }

  #deadLetter(message: ConsumedMessage, stage: 'decode' | 'process', error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.#deadLetterTopic === false) {
      throw new Error(
        `pipeline: ${stage} failed at ${message.topic}/${message.partition}@${message.offset} and deadLetterTopic is false: ${reason}`,
        { cause: error },
      );
    }
    this.#counts.deadLettered++;
    const failure = describeFailure(stage, error, message.value);
    if (deadLetterChannel.hasSubscribers) {
      deadLetterChannel.publish({
        pipeline: this.#options.groupId,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        stage,
        error,
        code: failure.code,
        rule: failure.rule,
        version: failure.version,
      } satisfies PipelineDeadLetterMessage);
    }
    this.#logger.warn(
      { topic: message.topic, partition: message.partition, offset: message.offset, stage, ...failure, err: error },
      'pipeline: event sent to the dead-letter topic',
    );
    const at = Date.now();
    this.#deadLetters.push({
      key: message.key ? message.key.toString('utf8') : null,
      value: Buffer.from(
        JSON.stringify({
          stage,
          error: reason,
          ...failure,
          source: { topic: message.topic, partition: message.partition, offset: message.offset },
          value: message.value?.toString('utf8') ?? null,
          // Bytes that are not text (a wire-format record's header): kept exactly too.
          ...(message.value && !isText(message.value) ? { valueBase64: message.value.toString('base64') } : {}),
        }),
      ),
      timestamp: at,
      headers: {
        // The record's trace context goes with it: a dead-letter consumer can continue or link its trace.
        ...message.headers,
        [DEAD_LETTER_HEADERS.code]: failure.code,
        [DEAD_LETTER_HEADERS.reason]: reason.slice(0, 1024),
        [DEAD_LETTER_HEADERS.topic]: message.topic,
        [DEAD_LETTER_HEADERS.at]: String(at),
        [DEAD_LETTER_HEADERS.stage]: stage,
        [DEAD_LETTER_HEADERS.rule]: failure.rule,
        ...(failure.field ? { [DEAD_LETTER_HEADERS.field]: failure.field } : {}),
        ...(failure.event ? { [DEAD_LETTER_HEADERS.event]: failure.event } : {}),
        ...(failure.version !== undefined ? { [DEAD_LETTER_HEADERS.version]: String(failure.version) } : {}),
      },
    });
  }

  #dirty(): boolean {
    if (this.#deadLetters.length > 0) return true;
    // Restores newly assigned partitions even before their first event (metrics, the next owner's fencing).
    if (this.#checkpointing) return this.#checkpointing.pending || this.#checkpointing.dirty(this.#processed);
    for (const [tp, offset] of this.#processed) if (this.#committed.get(tp) !== offset) return true;
    return false;
  }

  /** The window operators' watermarks as offset-commit metadata, or `undefined` without windows. */
  #windowMetadata(): string | undefined {
    const windows = this.#graph.windows;
    if (windows.length === 0) return undefined;
    // Each with its shape, so a restart with windows added, removed or reordered restores none it should not.
    const windowsState = windows.map((window) => [
      window.shape,
      Number.isFinite(window.watermark) ? window.watermark : null,
    ]);
    return `${METADATA_PREFIX}${JSON.stringify({ windows: windowsState })}`;
  }

  /** Tells each window operator, per newly assigned partition, up to where it emitted before a restart. */
  async #restoreWindows(partitions: { topic: string; partition: number }[]): Promise<void> {
    const windows = this.#graph.windows;
    const committed = this.#consumer?.committed;
    if (windows.length === 0 || !committed || partitions.length === 0) return;
    try {
      for (const { topic, partition, metadata } of await committed.call(this.#consumer, partitions)) {
        if (!metadata?.startsWith(METADATA_PREFIX)) continue;
        const { windows: saved } = JSON.parse(metadata.slice(METADATA_PREFIX.length)) as { windows?: unknown };
        if (!Array.isArray(saved) || saved.length !== windows.length) continue;
        for (const [i, window] of windows.entries()) {
          const [shape, mark] = (Array.isArray(saved[i]) ? saved[i] : []) as unknown[];
          if (shape === window.shape && typeof mark === 'number') window.restoreEmitted(topic, partition, mark);
        }
      }
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'pipeline: could not read the committed window watermarks; windows emitted before the restart may be emitted again in part',
      );
    }
  }

  /** Dead letters, then every sink: what the offsets about to be committed cover is durable. */
  async #flushOutputs(): Promise<void> {
    if (this.#deadLetters.length > 0 && this.#deadLetterTopic !== false) {
      this.#dlqProducer ??= this.#transport.producer();
      const report = await this.#dlqProducer.send(this.#deadLetterTopic, this.#deadLetters);
      const first = report?.rejected[0];
      if (first) {
        this.#logger.error(
          { topic: this.#deadLetterTopic, refused: report.rejected.length, code: first.code, reason: first.reason },
          'pipeline: broker refused dead letter(s) for good; they are only in this log',
        );
      }
      this.#deadLetters = [];
    }
    for (const sink of this.#graph.sinks) await sink.flush();
    this.#counts.sinkFlushes++;
  }

  /** Dead letters, then every sink, then offsets: nothing is committed before it is durable. */
  async #commit(): Promise<void> {
    await this.#flushOutputs();
    if (this.#checkpointing) {
      // Each partition's state changes, exactly-once records and offset: one transaction.
      await this.#checkpointing.sync(this.#processed, () => this.#flushOutputs());
      await this.#checkpointing.commit(this.#processed);
      this.#lastCommit = Date.now();
      return;
    }
    const holds = new Map<string, bigint>();
    for (const window of this.#graph.windows) {
      for (const [tp, offset] of window.holds()) {
        const current = holds.get(tp);
        if (current === undefined || offset < current) holds.set(tp, offset);
      }
    }
    // With windows, every commit carries their watermarks: windows up to them were emitted.
    const metadata = this.#windowMetadata();
    const metadataChanged = metadata !== this.#committedMetadata;
    const offsets: PartitionOffset[] = [];
    for (const [tp, processed] of this.#processed) {
      const held = holds.get(tp);
      const next = held !== undefined && held < processed ? held : processed;
      if (this.#committed.get(tp) === next && !metadataChanged) continue;
      const [topic, partition] = tp.split('\u0000') as [string, string];
      offsets.push({
        topic,
        partition: Number(partition),
        offset: next.toString(),
        ...(metadata === undefined ? {} : { metadata }),
      });
    }
    if (offsets.length > 0) {
      await this.#consumer?.commit(offsets);
      for (const o of offsets) this.#committed.set(`${o.topic}\u0000${o.partition}`, BigInt(o.offset));
      this.#committedMetadata = metadata;
      this.#counts.commits++;
    }
    this.#lastCommit = Date.now();
  }
}
