import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from '@backlot/metrics-core';
import type {
  AnyEventEnvelope,
  EventDefinitions,
  EventEnvelope,
  EventPayload,
  EventPayloadInput,
} from '../catalog/define-catalog.js';
import {
  ClosedError,
  EventsRefusedError,
  isEventEncodeError,
  isInvalidEventError,
  isTransportSendError,
  isUnknownEventError,
} from '../errors.js';
import { ACK_BOUNDS_SECONDS, liveProducers, type ProducerSample } from '../metrics/prometheus/live.js';
import { DeadLetterFile } from '../spool/dead-letter.js';
import { Spool, type SpoolBatch } from '../spool/spool.js';
import { emitObserved, traceEmit } from '../tracing/emit-span.js';
import { embeddedLogTransport } from '../transport/embedded-log/embedded-log-transport.js';
import type { RejectedMessage, SendReport, TransportProducer } from '../transport/types.js';
import { type EventsLogger, optionsError, silentLogger } from '../util/logger.js';
import { Admission } from './admission.js';
import { type Batch, Batcher } from './batching.js';
import { DeadLetters } from './dead-letters.js';
import { type EmitOptions, type EventProducerOptions, producerOptionsSchema } from './options.js';
import { type Pending, pending } from './pending.js';
import type { RecordQueue } from './record-queue.js';
import { TopicSizeLimits } from './size-limits.js';
import { Waiters } from './waiters.js';

/** Counters and gauges of a producer; see {@link EventProducer.metrics}. */
export interface ProducerMetrics {
  /** Events accepted by `emit` (validated). */
  emitted: number;
  /** Events rejected at `emit` (invalid, unencodable or too large for their topic; never sent). */
  invalid: number;
  /**
   * Events the broker refused for good (a poison event: too large, invalid, topic
   * missing or not authorised), never retried: given to `onDeadLetter`, written to
   * the dead-letter topic (or the spool's dead-letter file, see `readDeadLetters`),
   * else held for `flush()` to reject with. Each group is logged.
   */
  deadLettered: number;
  /** Of `deadLettered`, those the dead-letter topic acknowledged. */
  deadLetterPublished: number;
  /** Events acknowledged by the broker. */
  sent: number;
  /** Of `sent`, those that came from the spool (replayed). */
  replayed: number;
  /** Event sends retried after a failed batch (counted per event per retry). */
  retried: number;
  /** Batches that failed to send. */
  failedBatches: number;
  /** Events in the memory buffer now. */
  buffered: number;
  /** Bytes in the memory buffer now. */
  bufferedBytes: number;
  /** Events written to the spool, in all. */
  spooled: number;
  /** Events in the spool not yet acknowledged, now. */
  spoolPending: number;
  /** Spool frames skipped because their checksum failed (a crash mid-write). */
  spoolCorrupt: number;
  /** Events held beyond the bounds by the `block` policy, now. */
  held: number;
  /** Events dropped by the `drop` policy (or lost at close without a spool). Never silent: each is logged. */
  dropped: number;
  /** Batches sent. */
  batches: number;
  /** Emit-to-acknowledgement latency percentiles in ms, over events sent since the last `metrics({ reset: true })`. */
  ackLatencyMs: { p50: number; p99: number; p999: number; max: number };
  /** Whether the last send failed (the broker is unreachable or failing). */
  degraded: boolean;
}

/** A typed, non-blocking event producer; see {@link createEventProducer}. */
export interface EventProducer<Defs extends EventDefinitions> {
  /**
   * Validates the payload, wraps it in an envelope and queues it; never waits
   * for the network. Returns `true` while the producer keeps up, `false` when it
   * is falling behind (memory buffer over half full, spooling, holding or
   * dropping): the event is still accepted unless the `drop` policy dropped it;
   * `await ready()` before emitting more to apply backpressure.
   * @throws {InvalidEventError} when the payload does not match the catalogue (counted in `invalid`).
   * @throws {EventTooLargeError} when the encoded event is larger than its topic accepts (`max.message.bytes`, counted in `invalid`).
   * @throws {EventEncodeError} when the payload cannot be encoded (counted in `invalid`).
   * @throws {UnknownEventError} for a name outside the catalogue.
   * @throws {ClosedError} after `close()`.
   */
  emit<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options?: EmitOptions,
  ): boolean;
  /** Like {@link emit}, returning the envelope that was queued (e.g. to log its id). */
  emitEnvelope<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options?: EmitOptions,
  ): EventEnvelope<Name, EventPayload<Defs, Name>>;
  /** Resolves when the producer keeps up again (memory buffer under half full, nothing spooled or held). */
  ready(): Promise<void>;
  /**
   * Resolves once every event accepted so far that went to the spool is written
   * to disk (the spool writes in groups, off the `emit()` path; in `write-through`
   * mode they are on disk when `emit` returns). Events in the memory buffer are not
   * covered: see the durability table in the README.
   */
  persisted(): Promise<void>;
  /**
   * Resolves when every event emitted so far, spooled ones included, is acknowledged.
   * @throws {FlushTimeoutError} after `timeoutMs` (default: no limit).
   */
  flush(options?: { timeoutMs?: number | undefined }): Promise<void>;
  /**
   * Stops accepting events, delivers what it can within `closeTimeoutMs`, then
   * writes what is left to the spool (replayed on the next start) and closes.
   * Without a spool, what is left is counted as dropped and logged.
   */
  close(options?: { timeoutMs?: number | undefined }): Promise<void>;
  /** A snapshot of the counters; `reset: true` also restarts the latency percentiles. */
  metrics(options?: { reset?: boolean | undefined }): ProducerMetrics;
}

/** A batch in the send window. */
interface InFlight extends Batch {
  /**
   * Its send: settles with `undefined` once acknowledged, or with why it failed (never rejects);
   * after a failure `records` keeps only what was not acknowledged. Unset: not sent (yet, or again).
   */
  result?: Promise<unknown> | undefined;
  /** Why its last send failed, once settled. */
  error?: unknown;
  /** Set once its send settled with every record acknowledged (or refused for good). */
  acknowledged?: boolean;
}

const now = () => performance.timeOrigin + performance.now();

/** What one send of a batch came to: the records refused for good, and, when it failed, why and what is left to send. */
interface Outcome {
  rejected: RejectedMessage[];
  error: unknown;
  unsent: Pending[];
}

/**
 * Creates a typed event producer. `emit` validates against the catalogue and
 * returns at once; a background sender batches events by size and linger time
 * and sends them (idempotent, `acks: all`, gzip on Kafka; several batches in
 * flight when the transport pipelines, as the Kafka ones do), so that per-key
 * order holds across retries. When the broker is unreachable
 * or slow, events wait in a bounded memory buffer, then in a durable local spool
 * that is replayed in order when the broker returns — also after a restart.
 *
 * @example
 * ```ts
 * const producer = createEventProducer({
 *   catalog: events,
 *   source: 'play-api',
 *   transport: kafkaTransport({ brokers: ['127.0.0.1:9092'] }),
 *   topic: 'events',
 *   key: (event) => ('profileId' in event.payload ? event.payload.profileId : undefined),
 *   spool: { dir: '/var/lib/play-api/spool' },
 * });
 * producer.emit('play.started', { profileId: 'p1', titleId: '80100172' });
 * await producer.close();
 * ```
 */
export function createEventProducer<const Defs extends EventDefinitions>(
  options: EventProducerOptions<Defs>,
): EventProducer<Defs> {
  const parsed = producerOptionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('createEventProducer', parsed.error);
  return new Producer<Defs>(options);
}

class Producer<Defs extends EventDefinitions> implements EventProducer<Defs> {
  readonly #options: EventProducerOptions<Defs>;
  readonly #logger: EventsLogger;
  readonly #transport: TransportProducer;
  readonly #spool: Spool | undefined;
  readonly #writeThrough: boolean;
  readonly #lingerMs: number;
  /** Cuts the batches to send, from memory or the spool. */
  readonly #batcher: Batcher;
  /** Where accepted events wait: memory, spool, held or dropped. */
  readonly #admission: Admission;
  readonly #memory: RecordQueue<Pending>;
  /** Held beyond the bounds by the `block` policy: newer than everything else. */
  readonly #held: RecordQueue<Pending>;
  readonly #latency = new LatencyHistogram();
  /** Like `#latency`, never reset: Prometheus' ack histogram is cumulative. */
  readonly #ackLifetime = new LatencyHistogram();
  /** Events accepted, per event name (`backlot_events_emitted_total{event}`). */
  readonly #emittedByName = new Map<string, number>();
  readonly #deadLetters: DeadLetters;
  /** Each topic's largest record (`max.message.bytes`), checked at `emit`. */
  readonly #limits: TopicSizeLimits;
  readonly #counts = {
    emitted: 0,
    invalid: 0,
    sent: 0,
    replayed: 0,
    retried: 0,
    failedBatches: 0,
    spooled: 0,
    dropped: 0,
    batches: 0,
  };
  /** Batches sent and not yet acknowledged, oldest first (at most `#maxInFlight`). */
  #inflight: InFlight[] = [];
  readonly #maxInFlight: number;
  /** Set between a failed send and the resend of the failed batches: no new batch starts. */
  #backingOff = false;
  #pump: Promise<void> | undefined;
  #linger: NodeJS.Timeout | undefined;
  #flushing = 0;
  #closed = false;
  #stopped = false;
  #degraded = false;
  #wake: (() => void) | undefined;
  readonly #waiters = new Waiters();

  constructor(options: EventProducerOptions<Defs>) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    const transport = options.transport ?? embeddedLogTransport({ dir: join(process.cwd(), '.backlot', 'log') });
    this.#transport = transport.producer();
    this.#maxInFlight = this.#transport.resume ? Math.max(1, this.#transport.pipelining ?? 1) : 1;
    this.#lingerMs = options.batch?.lingerMs ?? 5;
    const spool = options.spool;
    this.#writeThrough = spool !== false && spool?.mode === 'write-through';
    this.#spool =
      spool === false
        ? undefined
        : Spool.open({
            dir:
              spool?.dir ?? join(process.cwd(), '.backlot', 'spool', options.source.replace(/[^A-Za-z0-9._-]/g, '_')),
            maxBytes: spool?.maxBytes ?? 1024 ** 3,
            segmentBytes: spool?.segmentBytes ?? 16 * 1024 ** 2,
            fsync: spool?.fsync ?? false,
            logger: this.#logger,
          });
    this.#admission = new Admission({
      spool: this.#spool,
      writeThrough: this.#writeThrough,
      bufferBytes: options.bufferBytes ?? 32 * 1024 * 1024,
      overflow: options.overflow ?? 'block',
      logger: this.#logger,
      counts: this.#counts,
    });
    this.#memory = this.#admission.memory;
    this.#batcher = new Batcher({
      memory: this.#memory,
      spool: this.#spool,
      maxEvents: options.batch?.maxEvents ?? 10_000,
      maxBytes: options.batch?.maxBytes ?? 1024 * 1024,
      lingerMs: this.#lingerMs,
    });
    this.#held = this.#admission.held;
    const deadLetter = options.deadLetter;
    this.#deadLetters = new DeadLetters({
      topic: deadLetter && {
        spec: {
          topic: deadLetter.topic,
          partitions: deadLetter.partitions ?? 1,
          retentionMs: deadLetter.retentionMs ?? 14 * 24 * 3600 * 1000,
          maxMessageBytes: deadLetter.maxMessageBytes ?? 8 * 1024 * 1024,
        },
        producer: transport.producer(),
      },
      file: this.#spool ? new DeadLetterFile(this.#spool.dir) : undefined,
      onDeadLetter: options.onDeadLetter,
      logger: this.#logger,
    });
    // Learn the topic's size limit before the first event is checked against it.
    this.#limits = new TopicSizeLimits(this.#transport, now);
    if (typeof options.topic === 'string') this.#limits.lookUp(options.topic);
    else if (options.topic === undefined) this.#limits.lookUp('events');
    // Replay what a previous process left in the spool.
    if (this.#spool && this.#spool.pendingRecords > 0) this.#kick();
    liveProducers.add(this);
  }

  emit<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options?: EmitOptions,
  ): boolean {
    return this.#accept(this.#envelope(name, payload, options), options);
  }

  emitEnvelope<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options?: EmitOptions,
  ): EventEnvelope<Name, EventPayload<Defs, Name>> {
    const envelope = this.#envelope(name, payload, options);
    this.#accept(envelope, options);
    return envelope;
  }

  ready(): Promise<void> {
    return this.#waiters.until(() => this.#admission.keepingUp() || this.#stopped);
  }

  async persisted(): Promise<void> {
    await this.#spool?.written();
  }

  async flush(options?: { timeoutMs?: number | undefined }): Promise<void> {
    if (this.#stopped) throw new ClosedError('event producer');
    this.#flushing++;
    this.#kick();
    try {
      await this.#untilDrained(options?.timeoutMs);
    } finally {
      this.#flushing--;
    }
    await this.#deadLetters.idle();
    const refused = this.#deadLetters.takeUnclaimed();
    if (refused.length > 0) throw new EventsRefusedError(refused);
  }

  async close(options?: { timeoutMs?: number | undefined }): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    liveProducers.delete(this);
    const timeoutMs = options?.timeoutMs ?? this.#options.closeTimeoutMs ?? 10_000;
    this.#flushing++;
    this.#kick();
    try {
      // With a spool, an outage is not waited out: what is left goes to the spool at once.
      await this.#untilDrained(timeoutMs, () => this.#degraded && this.#spool !== undefined);
    } catch {
      // Not everything could be delivered in time: it goes to the spool below.
    }
    this.#stopped = true;
    if (this.#linger) clearTimeout(this.#linger);
    this.#wake?.();
    // Wait briefly for a send in progress (it may be stuck on an unreachable broker).
    await Promise.race([this.#pump, sleep(Math.min(timeoutMs, 1000) + 100)]);
    await this.#spillOnClose();
    this.#waiters.releaseAll();
    const unclaimed = this.#deadLetters.takeUnclaimed();
    if (unclaimed.length > 0) {
      this.#logger.error(
        { lost: unclaimed.length },
        'event producer: closed with refused events nothing kept (no dead-letter topic, spool or onDeadLetter)',
      );
    }
    // Bounded: a broker that does not answer must not hold the shutdown.
    let closeTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.#transport.close(), this.#deadLetters.close()]).catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'event producer: transport close failed');
      }),
      new Promise<void>((resolve) => {
        closeTimer = setTimeout(resolve, Math.max(1000, Math.min(timeoutMs, 5000)));
      }),
    ]);
    clearTimeout(closeTimer);
    await this.#spool?.close();
  }

  /** @internal read by `registerPrometheusMetrics` collectors at scrape time. */
  prometheusSample(): ProducerSample {
    return {
      producer: this.#options.source,
      emittedByEvent: this.#emittedByName,
      sent: this.#counts.sent,
      spooled: this.#counts.spooled,
      deadLettered: this.#deadLetters.counts.deadLettered,
      degraded: this.#degraded,
      ack: this.#ackLifetime.data(ACK_BOUNDS_SECONDS),
    };
  }

  metrics(options?: { reset?: boolean | undefined }): ProducerMetrics {
    const snapshot: ProducerMetrics = {
      ...this.#counts,
      ...this.#deadLetters.counts,
      buffered: this.#memory.length + this.#inflightFromMemory(),
      bufferedBytes: this.#memory.bytes,
      spoolPending: this.#spool?.pendingRecords ?? 0,
      spoolCorrupt: this.#spool?.corruptFrames ?? 0,
      held: this.#held.length,
      ackLatencyMs: {
        p50: this.#latency.percentileMs(50),
        p99: this.#latency.percentileMs(99),
        p999: this.#latency.percentileMs(99.9),
        max: this.#latency.percentileMs(100),
      },
      degraded: this.#degraded,
    };
    if (options?.reset) this.#latency.reset();
    return snapshot;
  }

  // --- accepting events ------------------------------------------------------

  #envelope<Name extends keyof Defs & string>(
    name: Name,
    payload: EventPayloadInput<Defs, Name>,
    options: EmitOptions | undefined,
  ): EventEnvelope<Name, EventPayload<Defs, Name>> {
    if (this.#closed) throw new ClosedError('event producer');
    const traceId = options?.traceId ?? this.#options.traceId?.();
    try {
      return this.#options.catalog.envelope(name, payload, {
        source: this.#options.source,
        ...(traceId ? { traceId } : {}),
        ...(options?.id ? { id: options.id } : {}),
        ...(options?.time ? { time: options.time } : {}),
      });
    } catch (error) {
      if (isInvalidEventError(error) || isUnknownEventError(error) || isEventEncodeError(error)) this.#counts.invalid++;
      throw error;
    }
  }

  #accept(envelope: AnyEventEnvelope<Defs>, options: EmitOptions | undefined): boolean {
    const { topic } = this.#options;
    let value: Buffer;
    try {
      value = this.#options.catalog.encode(envelope);
    } catch (error) {
      if (isEventEncodeError(error)) this.#counts.invalid++;
      throw error;
    }
    const destination = topic === undefined ? 'events' : typeof topic === 'string' ? topic : topic(envelope);
    const key = options?.key ?? this.#options.key?.(envelope) ?? null;
    if (!emitObserved()) return this.#admit(envelope, pending({ topic: destination, key, value, timestamp: now() }));
    const emit = { producer: this.#options.source, event: envelope, topic: destination, key };
    return traceEmit(emit, (headers) =>
      this.#admit(envelope, pending({ topic: destination, key, value, timestamp: now(), headers })),
    );
  }

  /** Checks an event's record against its topic's size limit and places it (memory, spool, held or dropped). */
  #admit(envelope: AnyEventEnvelope<Defs>, record: Pending): boolean {
    try {
      this.#limits.check(envelope.name, record);
    } catch (error) {
      this.#counts.invalid++;
      throw error;
    }
    this.#counts.emitted++;
    this.#emittedByName.set(envelope.name, (this.#emittedByName.get(envelope.name) ?? 0) + 1);
    const placed = this.#admission.place(record);
    if (placed === 'memory') {
      if (this.#batcher.full()) this.#kick();
      else if (!this.#linger && !this.#pump) this.#linger = setTimeout(() => this.#kick(), this.#lingerMs);
      return this.#admission.roomy();
    }
    if (placed === 'spool') this.#kick();
    return false;
  }

  // --- sending ---------------------------------------------------------------

  #kick(): void {
    if (this.#linger) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    if (this.#stopped) return;
    if (this.#wake) {
      this.#wake();
      return;
    }
    // The pump is waiting for a send: start more batches now, up to the window.
    if (this.#pump && this.#inflight.length > 0) {
      this.#fillWindow();
      return;
    }
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
      this.#waiters.settle();
      if (!this.#stopped && this.#hasWork()) this.#kick();
    });
  }

  #hasWork(): boolean {
    return (
      this.#inflight.length > 0 ||
      this.#memory.length > 0 ||
      (this.#spool?.pendingRecords ?? 0) > 0 ||
      this.#held.length > 0
    );
  }

  /** (Re)starts sends up to the window: batches to send again first, in order, then new ones. */
  #fillWindow(): void {
    if (this.#backingOff || this.#stopped) return;
    for (const batch of this.#inflight) if (!batch.result) this.#start(batch);
    while (this.#inflight.length < this.#maxInFlight && this.#batcher.ready(this.#flushing > 0, now())) {
      const batch = this.#batcher.take();
      if (!batch) break;
      this.#inflight.push(batch);
      this.#start(batch);
      // Taking a batch frees memory: let a blocked emitter fill the next one while this one is in flight.
      this.#waiters.settle();
    }
  }

  #start(batch: InFlight): void {
    batch.error = undefined;
    batch.acknowledged = false;
    batch.result = this.#send(batch.records).then((outcome) => this.#settle(batch, outcome));
  }

  /** Applies a send's outcome to its batch: dead-letters what was refused, keeps only what is left to send. */
  #settle(batch: InFlight, outcome: Outcome): unknown {
    if (outcome.rejected.length > 0) this.#deadLetter(outcome.rejected);
    if (outcome.error === undefined || outcome.unsent.length === 0) {
      if (outcome.rejected.length > 0) {
        const refused = new Set(outcome.rejected.map((r) => r.message));
        batch.records = batch.records.filter((record) => !refused.has(record));
      }
      batch.acknowledged = true;
      return undefined;
    }
    // Acknowledged parts are done (never sent again); the batch keeps only what is left to send.
    const left = new Set<Pending>(outcome.unsent);
    const acknowledged = batch.records.filter((record) => !left.has(record));
    if (acknowledged.length > 0) {
      const refused = new Set(outcome.rejected.map((r) => r.message));
      this.#countSent(
        acknowledged.filter((record) => !refused.has(record)),
        batch.from,
      );
    }
    batch.records = outcome.unsent;
    batch.error = outcome.error ?? new Error('send failed');
    return batch.error;
  }

  /** Records refused for good by the broker: never retried, handed to the dead-letter route. */
  #deadLetter(rejected: readonly RejectedMessage[]): void {
    // The transport hands back the very records it was given.
    const entries = rejected.map((r) => ({ record: r.message as Pending, code: r.code, reason: r.reason }));
    for (const { record, code } of entries) {
      // The topic accepts less than this record: check later events against that at once.
      if (code === 'MESSAGE_TOO_LARGE' || code === 'RECORD_LIST_TOO_LARGE') this.#limits.refused(record);
    }
    this.#deadLetters.route(entries);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      this.#admission.admitHeld();
      this.#fillWindow();
      const head = this.#inflight[0];
      if (!head) {
        // Nothing in flight and the next batch not ready: let it linger, then look again.
        const oldest = this.#memory.peek();
        if (!oldest) {
          // The spool holds events not readable yet (being written or rewritten): wait for its writer.
          if ((this.#spool?.pendingRecords ?? 0) > 0 && !this.#stopped) {
            await this.#spool?.readable();
            continue;
          }
          return;
        }
        await this.#sleep(Math.max(1, oldest.timestamp + this.#lingerMs - now()));
        continue;
      }
      const error = await head.result;
      if (this.#stopped) return;
      if (error === undefined) {
        this.#inflight.shift();
        this.#acknowledged(head);
        if (this.#degraded) {
          this.#logger.info({ failures }, 'event producer: sending again after an outage');
          this.#degraded = false;
        }
        failures = 0;
        this.#waiters.settle();
        continue;
      }
      // The oldest batch failed: let every later send settle (the transport refuses
      // them until `resume()`), back off, then send the failed ones again, in order.
      this.#backingOff = true;
      await Promise.all(this.#inflight.map((batch) => batch.result));
      const failed = this.#inflight.filter((batch) => batch.error !== undefined);
      failures++;
      this.#counts.failedBatches += failed.length;
      for (const batch of failed) this.#counts.retried += batch.records.length;
      if (!this.#degraded || failures % 10 === 0) {
        this.#logger.warn(
          {
            err: error,
            failures,
            batch: head.records.length,
            buffered: this.#memory.length,
            spoolPending: this.#spool?.pendingRecords ?? 0,
          },
          'event producer: send failed; keeping events (memory, then spool) and retrying',
        );
      }
      this.#degraded = true;
      // Crash-safe while the broker is away: what is only in memory goes to the spool now.
      await this.#spillAfterFailure();
      this.#waiters.settle();
      const initial = this.#options.retry?.initialDelayMs ?? 100;
      const max = this.#options.retry?.maxDelayMs ?? 5000;
      const delay = Math.min(max, initial * 2 ** Math.min(failures - 1, 20)) * (0.5 + Math.random() / 2);
      await this.#sleep(delay);
      for (const batch of failed) batch.result = undefined;
      this.#transport.resume?.();
      this.#backingOff = false;
    }
  }

  /** Sends a batch's same-topic runs (a spool batch may span topics); never rejects. */
  async #send(records: Pending[]): Promise<Outcome> {
    const runs: [string, Pending[]][] = [];
    let start = 0;
    while (start < records.length) {
      const topic = (records[start] as Pending).topic;
      let end = start + 1;
      while (end < records.length && (records[end] as Pending).topic === topic) end++;
      runs.push([topic, start === 0 && end === records.length ? records : records.slice(start, end)]);
      start = end;
    }
    const outcome: Outcome = { rejected: [], error: undefined, unsent: [] };
    // biome-ignore lint/suspicious/noConfusingVoidType: what TransportProducer.send resolves with.
    const take = (run: Pending[], result: PromiseSettledResult<void | SendReport>) => {
      if (result.status === 'fulfilled') {
        if (result.value?.rejected) outcome.rejected.push(...result.value.rejected);
        return;
      }
      outcome.error ??= result.reason ?? new Error('send failed');
      if (isTransportSendError(result.reason)) {
        // The transport hands back the very records it was given.
        outcome.rejected.push(...result.reason.rejected);
        outcome.unsent.push(...(result.reason.unsent as Pending[]));
      } else {
        outcome.unsent.push(...run);
      }
    };
    if (this.#maxInFlight > 1) {
      // Issued together, in order: a pipelining transport keeps each partition in call order.
      const results = await Promise.allSettled(runs.map(([topic, run]) => this.#transport.send(topic, run)));
      for (const [index, result] of results.entries()) take((runs[index] as [string, Pending[]])[1], result);
      return outcome;
    }
    for (const [topic, run] of runs) {
      if (outcome.error !== undefined) {
        outcome.unsent.push(...run);
        continue;
      }
      try {
        take(run, { status: 'fulfilled', value: await this.#transport.send(topic, run) });
      } catch (error) {
        take(run, { status: 'rejected', reason: error });
      }
    }
    return outcome;
  }

  /** A batch is acknowledged (and every older one was): count it, and release it from the spool. */
  #acknowledged(batch: InFlight): void {
    this.#countSent(batch.records, batch.from);
    this.#counts.batches++;
    if (batch.from === 'spool' && batch.spoolBatch && !this.#stopped) this.#spool?.ack(batch.spoolBatch);
  }

  #countSent(records: readonly Pending[], from: InFlight['from']): void {
    const at = now();
    for (const record of records) {
      this.#latency.recordMs(at - record.timestamp);
      this.#ackLifetime.recordMs(at - record.timestamp);
    }
    this.#counts.sent += records.length;
    if (from === 'spool') this.#counts.replayed += records.length;
  }

  /** Sleeps `ms`, waking early on close or when new work arrives and a flush is asked. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.#wake === wake) self.#wake = undefined;
        resolve();
      }
      const wake = () => {
        if (this.#stopped || this.#flushing > 0 || this.#batcher.full()) done();
      };
      this.#wake = wake;
    });
  }

  // --- waiting ---------------------------------------------------------------

  #untilDrained(timeoutMs: number | undefined, giveUp?: () => boolean): Promise<void> {
    return this.#waiters.untilWithin(
      () => !this.#hasWork() || this.#stopped || giveUp?.() === true,
      timeoutMs,
      () => this.#pendingCount(),
    );
  }

  #pendingCount(): number {
    return this.#memory.length + this.#held.length + (this.#spool?.pendingRecords ?? 0) + this.#inflightFromMemory();
  }

  #inflightFromMemory(): number {
    let count = 0;
    for (const batch of this.#inflight) if (batch.from === 'memory') count += batch.records.length;
    return count;
  }

  /**
   * After a failed send (every send in flight has settled): batches still to send and the memory
   * buffer go to the front of the spool, so a crash during the outage loses nothing accepted;
   * later events follow them into the spool (group commit) until it drains.
   */
  async #spillAfterFailure(): Promise<void> {
    const spool = this.#spool;
    if (!spool) return;
    const { older, outstanding, fromMemory } = this.#leftInFlight();
    const drained = this.#memory.drain();
    older.push(...drained);
    this.#inflight = [];
    if (older.length === 0 && outstanding.length === 0) return;
    try {
      await spool.requeue(outstanding, older);
    } catch (error) {
      // The disk refuses (full?): keep them in memory, in order, and retry from there.
      this.#logger.error({ err: error, records: older.length }, 'event producer: could not spill to the spool');
      if (outstanding.length > 0) spool.rewind();
      for (const record of [...fromMemory, ...drained]) this.#memory.push(record);
      return;
    }
    this.#counts.spooled += fromMemory.length + drained.length;
    this.#logger.warn(
      { spooled: older.length, spoolPending: spool.pendingRecords },
      'event producer: broker unreachable; buffered events are in the spool, new ones follow them there',
    );
  }

  /**
   * What is left to send of the batches in flight, oldest first (acknowledged ones are counted
   * as sent; one whose send has not settled is kept whole), the spool batches among them, and
   * the part of `older` that came from memory.
   */
  #leftInFlight(): { older: Pending[]; outstanding: SpoolBatch[]; fromMemory: Pending[] } {
    const older: Pending[] = [];
    const outstanding: SpoolBatch[] = [];
    const fromMemory: Pending[] = [];
    for (const batch of this.#inflight) {
      if (batch.from === 'spool' && batch.spoolBatch) outstanding.push(batch.spoolBatch);
      if (batch.acknowledged) {
        // Acknowledged while an older batch failed: done.
        this.#countSent(batch.records, batch.from);
        this.#counts.batches++;
        continue;
      }
      older.push(...batch.records);
      if (batch.from === 'memory') fromMemory.push(...batch.records);
    }
    return { older, outstanding, fromMemory };
  }

  /** On close: what is still in memory goes to the spool (older first), or is counted as lost. */
  async #spillOnClose(): Promise<void> {
    const { older, outstanding, fromMemory } = this.#leftInFlight();
    this.#inflight = [];
    const drained = this.#memory.drain();
    older.push(...drained);
    const newer = this.#held.drain();
    const left = older.length + newer.length;
    if (left === 0 && outstanding.length === 0) return;
    if (!this.#spool) {
      this.#admission.drop(left, 'closed with undelivered events and no spool');
      this.#logger.error(
        { lost: left },
        'event producer: closed before delivering every event, and no spool is configured',
      );
      return;
    }
    // Beyond the spool's bound if need be: losing events at shutdown is worse.
    try {
      await this.#spool.requeue(outstanding, older);
      if (this.#writeThrough) this.#spool.append(newer);
      else this.#spool.appendSoon(newer);
    } catch (error) {
      this.#admission.drop(older.length + newer.length, 'closed, and the spool could not take the undelivered events');
      this.#logger.error({ err: error, lost: left }, 'event producer: could not spool the undelivered events at close');
      return;
    }
    this.#counts.spooled += fromMemory.length + drained.length + newer.length;
    if (left === 0) return;
    this.#logger.warn(
      { spooled: left },
      'event producer: closed with undelivered events; they are in the spool for the next start',
    );
  }
}
