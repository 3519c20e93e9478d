import { join } from 'node:path';
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
  isUnknownEventError,
} from '../errors.js';
import { ACK_BOUNDS_SECONDS, liveProducers, type ProducerSample } from '../metrics/prometheus/live.js';
import { RegistryEncoder } from '../registry/encoder.js';
import { framingProducer } from '../registry/framing-producer.js';
import { emittedFromCatalog, emittedFromDefinitions, schemaSourceOf } from '../registry/schema-source.js';
import { DeadLetterFile } from '../spool/dead-letter.js';
import { Spool } from '../spool/spool.js';
import { emitObserved, settleEmitSpan, traceEmit } from '../tracing/emit-span.js';
import { embeddedLogTransport } from '../transport/embedded-log/embedded-log-transport.js';
import type { RejectedMessage, TransportProducer } from '../transport/types.js';
import { type EventsLogger, optionsError, silentLogger } from '../util/logger.js';
import { Admission } from './admission.js';
import { backoffDelay } from './backoff.js';
import { Batcher } from './batching.js';
import { DeadLetters } from './dead-letters.js';
import { type EmitOptions, type EventProducerOptions, producerOptionsSchema } from './options.js';
import { type Pending, pending } from './pending.js';
import type { RecordQueue } from './record-queue.js';
import { sendRecords } from './send-outcome.js';
import { type InFlight, type Leftovers, SendWindow } from './send-window.js';
import { type SpillContext, spillAfterFailure, spillOnClose, spillWhileHung } from './shutdown.js';
import { TopicSizeLimits } from './size-limits.js';
import { Waiters } from './waiters.js';

/** What {@link Producer} races a send's answer with: `degradedAfterMs` passed first. */
const HUNG = Symbol('hung');

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
  /**
   * Whether the broker is unreachable, failing or hung: the last send failed, or the oldest
   * one has gone unanswered for `degradedAfterMs`. While true, events go to the spool.
   */
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

const now = () => performance.timeOrigin + performance.now();

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
  /** Registry mode: frames records in the Confluent wire format. */
  readonly #registry: RegistryEncoder | undefined;
  readonly #spool: Spool | undefined;
  readonly #writeThrough: boolean;
  readonly #lingerMs: number;
  readonly #degradedAfterMs: number;
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
  /** Batches sent and not yet acknowledged, oldest first. */
  readonly #window: SendWindow;
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
    const registry = options.registry;
    this.#registry = registry
      ? new RegistryEncoder({
          client: registry.client,
          schemas: schemaSourceOf(
            registry.schemas ? emittedFromDefinitions(registry.schemas) : emittedFromCatalog(options.catalog),
          ),
          subjects: registry.subjects ?? 'record',
          autoRegister: registry.autoRegister ?? true,
        })
      : undefined;
    this.#transport = this.#registry ? framingProducer(transport.producer(), this.#registry) : transport.producer();
    this.#lingerMs = options.batch?.lingerMs ?? 5;
    this.#degradedAfterMs = options.degradedAfterMs ?? 3000;
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
    const maxInFlight = this.#transport.resume ? Math.max(1, this.#transport.pipelining ?? 1) : 1;
    this.#window = new SendWindow({
      batcher: this.#batcher,
      maxInFlight,
      send: (records) => sendRecords(this.#transport, records, maxInFlight > 1),
      onRejected: (rejected) => this.#deadLetter(rejected),
      onPartlySent: (records, from) => this.#countSent(records, from),
      // Taking a batch frees memory: let a blocked emitter fill the next one while this one is in flight.
      onTaken: () => this.#waiters.settle(),
    });
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
    // A spool batch read ahead: send it now if the window has room (not only when a send settles).
    this.#spool?.onReadAhead(() => this.#kick());
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
    let pumpTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#pump,
      new Promise<void>((resolve) => {
        pumpTimer = setTimeout(resolve, Math.min(timeoutMs, 1000) + 100);
      }),
    ]);
    clearTimeout(pumpTimer); // a closed producer leaves no timer holding the process open
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
      buffered: this.#memory.length + this.#window.recordsFromMemory(),
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
    const destination = topic === undefined ? 'events' : typeof topic === 'string' ? topic : topic(envelope);
    let value: Buffer;
    // Registry mode, schema id known: framed now; else the plain envelope, framed when sent.
    let framed: { value: Buffer; headers: Record<string, string> } | undefined;
    try {
      framed = this.#registry?.frameNow(destination, envelope);
      value = framed?.value ?? this.#options.catalog.encode(envelope);
    } catch (error) {
      if (isEventEncodeError(error)) this.#counts.invalid++;
      throw error;
    }
    const key = options?.key ?? this.#options.key?.(envelope) ?? null;
    if (!emitObserved()) {
      return this.#admit(
        envelope,
        pending({ topic: destination, key, value, timestamp: now(), headers: framed?.headers }),
      );
    }
    const emit = { producer: this.#options.source, event: envelope, topic: destination, key };
    return traceEmit(emit, (trace, span) => {
      const headers = framed && trace ? { ...trace, ...framed.headers } : (framed?.headers ?? trace);
      const record = pending({ topic: destination, key, value, timestamp: now(), headers });
      if (span) record.span = span; // ended when the event is acked, spooled, dead-lettered or dropped
      return this.#admit(envelope, record);
    });
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
    if (this.#pump && this.#window.size > 0) {
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
      this.#window.size > 0 ||
      this.#memory.length > 0 ||
      (this.#spool?.pendingRecords ?? 0) > 0 ||
      this.#held.length > 0
    );
  }

  /** (Re)starts sends up to the window: batches to send again first, in order, then new ones. */
  #fillWindow(): void {
    if (!this.#stopped) this.#window.fill(this.#flushing > 0, now());
  }

  /** Records refused for good by the broker: never retried, handed to the dead-letter route. */
  #deadLetter(rejected: readonly RejectedMessage[]): void {
    // The transport hands back the very records it was given.
    const entries = rejected.map((r) => ({ record: r.message as Pending, code: r.code, reason: r.reason }));
    for (const { record, code, reason } of entries) {
      // The topic accepts less than this record: check later events against that at once.
      if (code === 'MESSAGE_TOO_LARGE' || code === 'RECORD_LIST_TOO_LARGE') this.#limits.refused(record);
      if (record.span) settleEmitSpan(record, 'dead_lettered', refusal(code, reason));
    }
    this.#deadLetters.route(entries);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      this.#admission.admitHeld();
      this.#fillWindow();
      const head = this.#window.head;
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
      const error = await this.#answer(head);
      if (this.#stopped) return;
      if (error === undefined) {
        this.#window.shift();
        this.#acknowledged(head);
        if (this.#degraded) {
          this.#logger.info({ failures }, 'event producer: sending again after an outage');
          this.#setDegraded(false);
        }
        failures = 0;
        this.#waiters.settle();
        continue;
      }
      // The oldest batch failed: let every later send settle (the transport refuses
      // them until `resume()`), back off, then send the failed ones again, in order.
      const failed = await this.#window.failed();
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
      this.#setDegraded(true);
      // Crash-safe while the broker is away: what is only in memory goes to the spool now.
      await this.#spillAfterFailure();
      this.#waiters.settle();
      await this.#sleep(
        backoffDelay(failures, {
          initialDelayMs: this.#options.retry?.initialDelayMs ?? 100,
          maxDelayMs: this.#options.retry?.maxDelayMs ?? 5000,
        }),
      );
      this.#transport.resume?.();
      this.#window.resume(failed);
    }
  }

  #setDegraded(degraded: boolean): void {
    this.#degraded = degraded;
    this.#admission.outage = degraded && this.#spool !== undefined;
  }

  /**
   * The outcome of the oldest batch's send. One unanswered for `degradedAfterMs` marks the
   * broker hung at once (degraded; memory to the spool, new events after it) rather than when
   * the transport's request timeout ends it; the send keeps waiting for its answer meanwhile.
   */
  async #answer(head: InFlight): Promise<unknown> {
    const result = head.result;
    if (this.#degraded) return result;
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<typeof HUNG>((resolve) => {
      timer = setTimeout(resolve, this.#degradedAfterMs, HUNG);
    });
    const first = await Promise.race([result, hung]);
    clearTimeout(timer);
    if (first !== HUNG || this.#stopped) return first === HUNG ? result : first;
    this.#logger.warn(
      {
        waitedMs: this.#degradedAfterMs,
        batch: head.records.length,
        inFlight: this.#window.size,
        buffered: this.#memory.length,
        spoolPending: this.#spool?.pendingRecords ?? 0,
      },
      'event producer: the broker has not answered a send; marked degraded, still waiting for its answer',
    );
    this.#setDegraded(true);
    if (this.#spool && !this.#window.hasSpoolBatch()) {
      await spillWhileHung(this.#spool, this.#spillContext());
      this.#waiters.settle();
    }
    return result;
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
      if (record.span) settleEmitSpan(record, 'acked');
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
    return (
      this.#memory.length + this.#held.length + (this.#spool?.pendingRecords ?? 0) + this.#window.recordsFromMemory()
    );
  }

  /** After a failed send: with a spool, what is left in flight and in memory goes to its front (see `spillAfterFailure`). */
  async #spillAfterFailure(): Promise<void> {
    if (!this.#spool) return;
    await spillAfterFailure(this.#spool, this.#spillContext(), this.#drainWindow());
  }

  /** On close: what is left goes to the spool, or is counted as lost (see `spillOnClose`). */
  async #spillOnClose(): Promise<void> {
    await spillOnClose(this.#spillContext(), this.#drainWindow());
  }

  /** Empties the send window; batches acknowledged while an older one failed are counted as sent. */
  #drainWindow(): Leftovers {
    const left = this.#window.drain();
    for (const batch of left.acknowledged) {
      this.#countSent(batch.records, batch.from);
      this.#counts.batches++;
    }
    return left;
  }

  #spillContext(): SpillContext {
    return {
      spool: this.#spool,
      memory: this.#memory,
      held: this.#held,
      admission: this.#admission,
      writeThrough: this.#writeThrough,
      counts: this.#counts,
      logger: this.#logger,
    };
  }
}

/** The broker's refusal of a dead-lettered record, for its emit span. */
function refusal(code: string, reason: string): Error {
  return Object.assign(new Error(`the broker refused the event (${code}): ${reason}`), { code });
}
